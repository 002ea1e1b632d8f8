from django.apps import AppConfig


class ProjectSiteConfig(AppConfig):
    name = "tests.support.project_site"
    label = "project_site"
    default_auto_field = "django.db.models.BigAutoField"
