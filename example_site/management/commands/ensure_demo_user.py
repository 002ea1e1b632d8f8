"""``manage.py ensure_demo_user``: create (or reset) the demo account and print its credentials."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from example_site.auth import make_token


class Command(BaseCommand):
    help = "Creates the demo user (staff, so the admin works too) and prints how to sign in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo-upload")

    def handle(self, *args: Any, username: str, password: str, **options: Any) -> None:
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            f"Demo account: username {username!r}, password {password!r}. "
            "Sign in at /accounts/login/, then explore /graphql/.\n"
            f"Token for scripts: Authorization: Bearer {make_token(user)}"
        )
