"""The operators' interface: home page, health check, API docs, admin and the production
settings (the demo data is in test_seed_demo.py). Real PostgreSQL and Redis throughout;
failures are provoked for real (a closed port), never mocked."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from escrow.models import EscrowTransaction, Wallet
from escrow.reconcile import find_problems
from marketplace.core.models import User

ROOT = Path(__file__).resolve().parents[2]
CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"
PLAIN_STATIC = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}


@pytest.fixture(autouse=True)
def _static_from_finders(settings):
    """The suite runs with DEBUG=0, whose static storage needs `collectstatic` first;
    serve from the source folders instead (the manifest path has its own test below)."""
    settings.STORAGES = {**settings.STORAGES, "staticfiles": PLAIN_STATIC}


@pytest.fixture
def staff_client(client, db):
    user = User.objects.create_superuser("root", "root@example.com", "root-pass-123")
    client.force_login(user)
    return client


def _subprocess_env(**overrides) -> dict[str, str]:
    env = {"DJANGO_SETTINGS_MODULE": "marketplace.settings", **os.environ, **overrides}
    return {key: value for key, value in env.items() if value is not None}


# --- home page -----------------------------------------------------------------------


def test_home_page_works_with_the_production_static_storage(client, db, settings, tmp_path):
    """With DEBUG off, static files come from `collectstatic`'s hashed manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", "--noinput", verbosity=0)

    response = client.get("/")

    assert response.status_code == 200
    assert 'href="/static/css/site.css"' not in response.content.decode()
    hashed = [path.name for path in (tmp_path / "css").glob("site.*.css")]
    assert hashed, "collectstatic wrote no hashed site.css"
    assert any(f"/static/css/{name}" in response.content.decode() for name in hashed)


# --- health check --------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_is_ok_when_database_and_redis_answer(client, settings):
    assert settings.REDIS_URL  # the suite runs with Redis configured

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_without_redis_configured(client, settings):
    settings.REDIS_URL = ""

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "not configured"}


@pytest.mark.django_db
def test_healthz_is_503_naming_redis_when_redis_does_not_answer(client, settings):
    settings.REDIS_URL = CLOSED_PORT_REDIS

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] == "ok"
    assert body["redis"].startswith("error")


def test_healthz_is_503_naming_the_database_when_it_does_not_answer():
    """A real process whose DATABASE_URL points at a closed port."""
    script = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "response = Client().get('/healthz')\n"
        "print(json.dumps({'code': response.status_code, 'body': response.json()}))\n"
    )
    env = _subprocess_env(
        DATABASE_URL="postgres://postgres@127.0.0.1:1/nothing_here",
        ALLOWED_HOSTS="testserver",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        SECURE_SSL_REDIRECT="0",
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["code"] == 503
    assert outcome["body"]["status"] == "error"
    assert outcome["body"]["database"].startswith("error")
    assert outcome["body"]["redis"] == "ok"


# --- API schema and docs -------------------------------------------------------------


@pytest.mark.django_db
def test_schema_is_an_openapi_document_served_without_login(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Group marketplace API"
    assert "paths" in document


@pytest.mark.django_db
def test_docs_page_loads_swagger_ui_from_our_own_static_files(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html.lower()
    # The page's script comes from its own URL (the CSP allows no inline script).
    assert '<script src="/api/docs/?script="></script>' in html
    assert "/api/schema/" in client.get("/api/docs/?script=").content.decode()
    # No CDN at run time: Swagger UI comes from drf-spectacular-sidecar's static files.
    assert "cdn.jsdelivr.net" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html


# --- admin ---------------------------------------------------------------------------


def _admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_project_model_is_in_the_admin():
    ours = {"marketplace", "escrow", "proposals", "disputes", "legacy"}
    inlined = {
        inline.model
        for model_admin in admin.site._registry.values()
        for inline in model_admin.inlines
    }
    missing = [
        model._meta.label
        for name in ours
        for model in apps.get_app_config(name).get_models()
        if model not in admin.site._registry
        and model not in inlined
        and not model._meta.auto_created
    ]
    assert missing == []


def test_admin_changelists_and_change_pages_load_for_a_superuser(staff_client):
    call_command("seed_demo", verbosity=0)

    for model in admin.site._registry:
        url = _admin_url(model, "changelist")
        response = staff_client.get(url)
        assert response.status_code == 200, url
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            url = _admin_url(model, "change", obj.pk)
            assert staff_client.get(url).status_code == 200, url
        searched = staff_client.get(_admin_url(model, "changelist"), {"q": "alice"})
        assert searched.status_code == 200, url


def test_user_admin_is_djangos_user_admin():
    from django.contrib.auth.admin import UserAdmin

    assert isinstance(admin.site._registry[User], UserAdmin)


def test_escrow_transactions_cannot_be_added_changed_or_deleted(staff_client):
    call_command("seed_demo", verbosity=0)
    entry = EscrowTransaction.objects.order_by("pk").first()
    model_admin = admin.site._registry[EscrowTransaction]
    request = staff_client.get("/").wsgi_request

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entry)
    assert not model_admin.has_delete_permission(request, entry)
    assert staff_client.get(_admin_url(EscrowTransaction, "add")).status_code == 403
    assert staff_client.get(_admin_url(EscrowTransaction, "delete", entry.pk)).status_code == 403
    response = staff_client.post(
        _admin_url(EscrowTransaction, "change", entry.pk), {"memo": "edited", "amount_0": "1"}
    )
    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.memo != "edited"
    staff_client.post(
        _admin_url(EscrowTransaction, "changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert EscrowTransaction.objects.filter(pk=entry.pk).exists()


def test_wallet_balances_cannot_be_edited_in_the_admin(staff_client):
    call_command("seed_demo", verbosity=0)
    wallet = Wallet.objects.get(user__username="alice")
    before = wallet.available_balance

    assert staff_client.get(_admin_url(Wallet, "add")).status_code == 403
    assert staff_client.get(_admin_url(Wallet, "delete", wallet.pk)).status_code == 403
    staff_client.post(
        _admin_url(Wallet, "change", wallet.pk),
        {
            "balance_0": "999999",
            "balance_1": "USD",
            "available_balance_0": "999999",
            "available_balance_1": "USD",
        },
    )
    wallet.refresh_from_db()
    assert wallet.available_balance == before
    page = staff_client.get(_admin_url(Wallet, "change", wallet.pk)).content.decode()
    assert 'name="available_balance_0"' not in page
    assert find_problems() == []


# --- production settings -------------------------------------------------------------


def test_check_deploy_passes_with_production_settings():
    env = _subprocess_env(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="example.com",
        SECURE_SSL_REDIRECT=None,
        SECURE_HSTS_SECONDS=None,
        PAYMENTS_SANDBOX=None,
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
