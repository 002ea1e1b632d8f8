"""Migrations match the models (the specification, docs/specification.md, §6); the abstract mode
is checked in its own suite."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_makemigrations_check_is_clean():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_system_checks_pass_for_the_example_site():
    call_command("check", fail_level="WARNING")
