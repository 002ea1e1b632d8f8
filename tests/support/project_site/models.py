from django.conf import settings
from django.db import models


class Profile(models.Model):
    """A user's pictures, as a project keeps them: plain ``FileField``s on its own model."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    avatar = models.FileField(upload_to="avatars/", blank=True)
    banner = models.FileField(upload_to="banners/", blank=True)

    def __str__(self) -> str:
        return f"Profile of {self.user}"
