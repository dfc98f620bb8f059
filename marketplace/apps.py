from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project package at the top of the house, an app only so that its commands
    (`seed_demo`) are found: settings, root URLs, ASGI routing, the home and health pages,
    the platform-wide metrics and their dashboard, and the demo data. It may import every
    app; no app imports it."""

    name = "marketplace"
    label = "project"
    verbose_name = "Operations"
