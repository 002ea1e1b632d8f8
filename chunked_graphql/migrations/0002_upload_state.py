from django.db import migrations, models

from chunked_graphql.settings import upload_settings


class Migration(migrations.Migration):
    dependencies = [
        ("chunked_graphql", "0001_initial"),
    ]

    # As in 0001: with ABSTRACT_MODEL on this app owns no table.
    operations = (
        []
        if upload_settings.ABSTRACT_MODEL
        else [
            migrations.AddField(
                model_name="chunkedupload",
                name="hash_state",
                field=models.BinaryField(blank=True, null=True),
            ),
            migrations.AddField(
                model_name="chunkedupload",
                name="store_state",
                field=models.JSONField(blank=True, editable=False, null=True),
            ),
        ]
    )
