"""Django for a benchmark process: the environment comes from `bench.stack`."""

import os


def django() -> None:
    import django as django_package

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    django_package.setup()
