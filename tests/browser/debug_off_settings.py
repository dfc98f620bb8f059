"""The production settings (run with DEBUG=0) for a live server in the browser tests, with
one change: static files come from the apps' folders, as in the rest of the suite, instead
of `collectstatic`'s manifest, which would have to be built into the shared STATIC_ROOT
first. The manifest storage itself is tested in tests/pages/test_public_static.py."""

from marketplace.settings import *  # noqa: F403
from marketplace.settings import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# WhiteNoise serves them from the finders (what `runserver` would do with DEBUG on).
WHITENOISE_USE_FINDERS = True
