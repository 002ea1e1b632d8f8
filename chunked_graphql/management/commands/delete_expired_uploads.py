"""``manage.py delete_expired_uploads``: clean up uploads that expired before completing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from chunked_graphql.services import delete_expired_uploads


class Command(BaseCommand):
    help = (
        "Deletes expired incomplete uploads, rows and bytes. Completed uploads are never touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-k",
            "--keep-record",
            action="store_true",
            help="Delete only the stored bytes and keep the database rows.",
        )

    def handle(self, *args: Any, keep_record: bool, **options: Any) -> None:
        cleaned = delete_expired_uploads(keep_record=keep_record)
        if keep_record:
            self.stdout.write(
                f"Deleted the bytes of {cleaned} expired upload(s); their records were kept."
            )
        else:
            self.stdout.write(f"Deleted {cleaned} expired upload(s).")
