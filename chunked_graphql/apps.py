"""Django application configuration: wires the system checks and settings reloads."""

from django.apps import AppConfig


class ChunkedGraphQLConfig(AppConfig):
    name = "chunked_graphql"
    verbose_name = "Chunked uploads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported for their side effects: registering the checks and the
        # setting_changed receiver that keeps override_settings working.
        from . import checks, settings  # noqa: F401
