from django.db import migrations, models

from chunked_graphql.settings import upload_settings


class Migration(migrations.Migration):
    dependencies = [
        ("chunked_graphql", "0002_upload_state"),
    ]

    # As in 0001: with ABSTRACT_MODEL on this app owns no table.
    operations = (
        []
        if upload_settings.ABSTRACT_MODEL
        else [
            migrations.AddField(
                model_name="chunkedupload",
                name="parallel",
                field=models.BooleanField(default=False),
            ),
            migrations.AddField(
                model_name="chunkedupload",
                name="chunk_size",
                field=models.BigIntegerField(blank=True, null=True),
            ),
            migrations.AddField(
                model_name="chunkedupload",
                name="stored_ranges",
                field=models.JSONField(blank=True, editable=False, null=True),
            ),
            migrations.AddField(
                model_name="chunkedupload",
                name="hashed_offset",
                field=models.BigIntegerField(blank=True, editable=False, null=True),
            ),
            migrations.AddField(
                model_name="chunkedupload",
                name="chunk_checksums",
                field=models.JSONField(blank=True, editable=False, null=True),
            ),
            migrations.AddField(
                model_name="chunkedupload",
                name="hashing_until",
                field=models.DateTimeField(blank=True, editable=False, null=True),
            ),
        ]
    )
