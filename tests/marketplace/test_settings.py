"""Settings read from the environment: bad numbers refuse to start with a message naming
the variable, and without EMAIL_HOST e-mails go to the console in every environment.

Settings are read once, at import: each configuration is tried in a fresh process with a
controlled environment (only what the test sets, none of the runner's variables)."""

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from marketplace import settings as settings_module
from marketplace.core.startup import CONSOLE_EMAIL_WARNING

ROOT = Path(__file__).resolve().parents[2]


def run_python(script: str, **variables: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONUTF8": "1",
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "SECRET_KEY": "test-only-secret",
        "DEBUG": "0",
        **variables,
    }
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- the parsers, in this process (fast; the environment is patched per test) --------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", Decimal("0.10")),  # unset or empty: the default
        ("0", Decimal("0")),
        ("1", Decimal("1")),
        ("0.1234", Decimal("0.1234")),
        (" 0.05 ", Decimal("0.05")),
        ("0.10000", Decimal("0.1")),  # trailing zeros round nothing away
        ("1e-2", Decimal("0.01")),
        ("0.00001e1", Decimal("0.0001")),  # the value counts, not how it is written
        (".5", Decimal("0.5")),
    ],
)
def test_a_rate_is_a_decimal_from_0_to_1_with_4_places(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_RATE", raw)
    rate = settings_module.env_rate("SOME_RATE", "0.10")
    assert rate == expected
    assert rate.as_tuple().exponent == -4  # exactly what a proposal stores


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "nan",
        "NaN",
        "inf",
        "-Infinity",
        "0.12345",  # would be rounded when stored on a proposal
        "1e-5",
        "\u0661",  # ARABIC-INDIC DIGIT ONE: non-ASCII digits, which Decimal() would take
        "0.1_0",
        "0,1",
        "-0.01",
        "-0",
        "1.0001",
        "2",
        "1e999999999",
        "0x1",
    ],
)
def test_a_bad_rate_is_refused_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("SOME_RATE", raw)
    with pytest.raises(ImproperlyConfigured, match=r"^SOME_RATE must be a decimal from 0 to 1"):
        settings_module.env_rate("SOME_RATE", "0.10")


@pytest.mark.parametrize(("raw", "expected"), [("", 14), ("1", 1), (" 30 ", 30), ("3650", 3650)])
def test_a_whole_number_within_bounds_is_taken(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_DAYS", raw)
    assert settings_module.env_int("SOME_DAYS", 14, minimum=1, maximum=3650) == expected


@pytest.mark.parametrize(
    "raw", ["0", "-1", "+5", "1.5", "1e3", "ten", "\u0661\u0664", "1_0", "3651", "9" * 40]
)
def test_a_bad_whole_number_is_refused_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("SOME_DAYS", raw)
    with pytest.raises(
        ImproperlyConfigured, match=r"^SOME_DAYS must be a whole number from 1 to 3650; got"
    ):
        settings_module.env_int("SOME_DAYS", 14, minimum=1, maximum=3650)


# --- the real settings module, in a fresh process per configuration ----------------------

SETUP = "import django; django.setup()"


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"PLATFORM_FEE_RATE": "0.12345"}, "PLATFORM_FEE_RATE must be a decimal from 0 to 1"),
        ({"LEADER_COMMISSION_RATE": "nan"}, "LEADER_COMMISSION_RATE must be a decimal"),
        ({"PLATFORM_FEE_RATE": "1.5"}, "PLATFORM_FEE_RATE must be a decimal from 0 to 1"),
        (
            {"PLATFORM_FEE_RATE": "0.9", "LEADER_COMMISSION_RATE": "0.1"},
            "PLATFORM_FEE_RATE + LEADER_COMMISSION_RATE must be below 1",
        ),
        ({"ESCROW_AUTO_RELEASE_DAYS": "0"}, "ESCROW_AUTO_RELEASE_DAYS must be a whole number"),
        ({"CHAT_MESSAGES_PER_MINUTE": "ten"}, "CHAT_MESSAGES_PER_MINUTE must be a whole number"),
        (
            {"EMAIL_HOST": "smtp.example.com", "EMAIL_PORT": "70000"},
            "EMAIL_PORT must be a whole number from 1 to 65535",
        ),
        ({"SECURE_HSTS_SECONDS": "-1"}, "SECURE_HSTS_SECONDS must be a whole number of at least 0"),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, dict) else None,
)
def test_a_bad_setting_stops_the_process_at_start(variables, named):
    result = run_python(SETUP, **variables)

    assert result.returncode != 0
    assert f"django.core.exceptions.ImproperlyConfigured: {named}" in result.stderr


def test_good_settings_are_taken():
    script = (
        f"{SETUP}; import json; from django.conf import settings as s; print(json.dumps(["
        "str(s.PLATFORM_FEE_RATE), str(s.LEADER_COMMISSION_RATE), s.ESCROW_AUTO_RELEASE_DAYS,"
        " s.CHAT_MESSAGES_PER_MINUTE, s.SECURE_HSTS_SECONDS, s.MAILERS['default']['OPTIONS']]))"
    )
    result = run_python(
        script,
        PLATFORM_FEE_RATE="0.125",
        LEADER_COMMISSION_RATE="0.0375",
        ESCROW_AUTO_RELEASE_DAYS="7",
        CHAT_MESSAGES_PER_MINUTE="12",
        SECURE_HSTS_SECONDS="0",
        EMAIL_HOST="smtp.example.com",
        EMAIL_PORT="2525",
    )

    assert result.returncode == 0, result.stderr
    fee, commission, days, per_minute, hsts, smtp = json.loads(result.stdout)
    assert (fee, commission, days, per_minute, hsts) == ("0.1250", "0.0375", 7, 12, 0)
    assert (smtp["host"], smtp["port"]) == ("smtp.example.com", 2525)
    assert CONSOLE_EMAIL_WARNING not in result.stderr


SEND_MAIL = (
    f"{SETUP}; from django.conf import settings; from django.core.mail import send_mail;"
    " print(settings.MAILERS['default']['BACKEND']);"
    " send_mail('Proposal accepted', 'Escrow is locked.', None, ['buyer@example.com'])"
)


@pytest.mark.parametrize("debug", ["0", "1"])
def test_without_email_host_e_mails_are_written_to_the_console(debug):
    result = run_python(SEND_MAIL, DEBUG=debug)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("django.core.mail.backends.console.EmailBackend\n")
    assert "Subject: Proposal accepted" in result.stdout
    assert "To: buyer@example.com" in result.stdout
    assert "Escrow is locked." in result.stdout
    # Production says it once at start (django.setup() runs the app's ready()), and
    # development does not need telling.
    assert result.stderr.count(CONSOLE_EMAIL_WARNING) == (1 if debug == "0" else 0)
    assert "Traceback" not in result.stderr
