"""The example site as the benchmark runs it: anonymous uploads, quiet logging; on moto's S3
server when the benchmark says so (``BENCH_S3_ENDPOINT``, ``BENCH_S3_BUCKET``)."""

import os

from example_site.settings import *  # noqa: F403

DEBUG = False
CHUNKED_GRAPHQL_USER_RESTRICTED = False
del CHUNKED_GRAPHQL_COMPLETION_HOOK  # noqa: F821

if os.environ.get("BENCH_S3_ENDPOINT"):
    AWS_S3_ENDPOINT_URL = os.environ["BENCH_S3_ENDPOINT"]
    AWS_STORAGE_BUCKET_NAME = os.environ["BENCH_S3_BUCKET"]
    AWS_ACCESS_KEY_ID = "testing"
    AWS_SECRET_ACCESS_KEY = "testing"
    AWS_S3_REGION_NAME = "us-east-1"
    AWS_S3_ADDRESSING_STYLE = "path"
    CHUNKED_GRAPHQL_STORAGE_CLASS = "storages.backends.s3.S3Storage"
