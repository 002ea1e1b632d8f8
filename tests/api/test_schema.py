"""The checked-in schema.graphql is current, and carries every name the specification
(docs/specification.md) §2 binds."""

from pathlib import Path

import pytest
from django.core.management import call_command
from graphql import build_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"

CONTRACT_FIELDS = {
    "ChunkedUpload": {
        "id": "ID!",
        "url": "String!",
        "filename": "String!",
        "offset": "BigInt!",
        "totalSize": "BigInt",
        "expires": "DateTime!",
        "status": "ChunkedUploadStatus!",
        "createdAt": "DateTime!",
        "completedAt": "DateTime",
        "checksumAlgorithm": "String!",
        "responseData": "JSONString",
        # §9
        "parallel": "Boolean!",
        "chunkSize": "BigInt",
        "missingRanges": "[ByteRange!]!",
        "expired": "Boolean!",
    },
    "ByteRange": {"start": "BigInt!", "end": "BigInt!"},
    "UploadError": {"code": "UploadErrorCode!", "message": "String!", "httpStatus": "Int!"},
    "MaxBytesExceeded": {"maxBytes": "BigInt!"},
    "OffsetMismatch": {"expectedOffset": "BigInt!", "providedOffset": "BigInt!"},
    "MissingChecksum": {"algorithm": "String!"},
    "UploadIncomplete": {
        "offset": "BigInt!",
        "expectedSize": "BigInt!",
        "missingRanges": "[ByteRange!]!",
    },
    "InvalidChunkSize": {"minChunkSize": "BigInt!", "maxChunkSize": "BigInt!"},
    "QuotaExceeded": {"quota": "QuotaKind!", "limit": "BigInt!"},
    "CancelledUpload": {"id": "ID!"},
    "Query": {
        "chunkedUpload": "ChunkedUpload",
        "chunkedUploads": "[ChunkedUpload!]!",
        "uploadLimits": "UploadLimits!",
    },
    # Specification §9.
    "UploadLimits": {
        "maxBytes": "BigInt",
        "maxChunkSize": "BigInt!",
        "minParallelChunkSize": "BigInt!",
        "maxParts": "Int",
        "expiresIn": "Int!",
        "checksumAlgorithm": "String!",
        "chunkChecksumAlgorithms": "[String!]!",
        "maxIncompleteUploads": "Int",
        "maxIncompleteBytes": "BigInt",
        "maxPageSize": "Int!",
    },
    "Mutation": {
        "createUpload": "CreateUploadResult!",
        "uploadChunk": "UploadChunkResult!",
        "completeUpload": "CompleteUploadResult!",
        "cancelUpload": "CancelUploadResult!",
    },
}

CONTRACT_ARGUMENTS = {
    ("Query", "chunkedUpload"): {"id": "ID!"},
    # Specification §9 adds the page.
    ("Query", "chunkedUploads"): {"status": "ChunkedUploadStatus", "first": "Int", "after": "ID"},
    ("Mutation", "uploadChunk"): {
        "uploadId": "ID",
        "file": "Upload",
        "contentRange": "String",
        "filename": "String",
        "chunkChecksum": "String",
    },
    ("Mutation", "createUpload"): {
        "filename": "String!",
        "totalSize": "BigInt!",
        "parallel": "Boolean",
        "chunkSize": "BigInt",
    },
    ("Mutation", "completeUpload"): {
        "uploadId": "ID",
        "checksum": "String",
        "file": "Upload",
        "filename": "String",
    },
    ("Mutation", "cancelUpload"): {"uploadId": "ID!"},
}

ERRORS = {
    "UploadNotFound": "NOT_FOUND",
    "UploadExpired": "EXPIRED",
    "MissingChunk": "MISSING_CHUNK",
    "MissingContentRange": "MISSING_CONTENT_RANGE",
    "InvalidContentRange": "INVALID_CONTENT_RANGE",
    "MaxBytesExceeded": "MAX_BYTES_EXCEEDED",
    "OffsetMismatch": "OFFSET_MISMATCH",
    "MissingChecksum": "MISSING_CHECKSUM",
    "ChecksumMismatch": "CHECKSUM_MISMATCH",
    "UploadAlreadyComplete": "ALREADY_COMPLETE",
    "UploadIncomplete": "INCOMPLETE",
    "InvalidFilename": "INVALID_FILENAME",
    "AuthenticationRequired": "AUTHENTICATION_REQUIRED",
    "InvalidChunkChecksum": "INVALID_CHUNK_CHECKSUM",
    "ChunkChecksumMismatch": "CHUNK_CHECKSUM_MISMATCH",
    "InvalidChunkSize": "INVALID_CHUNK_SIZE",
    "QuotaExceeded": "QUOTA_EXCEEDED",
}

# Added beyond the contract (which allows new types): each union and the code enum hold the
# contract's members plus exactly these.
ADDED_ERRORS = {"ChunkTooLarge": "CHUNK_TOO_LARGE"}
ADDED_UNION_MEMBERS = {"UploadChunkResult": ["ChunkTooLarge"]}

UNIONS = {
    "UploadChunkResult": [
        "ChunkedUpload",
        "UploadNotFound",
        "UploadExpired",
        "MissingChunk",
        "MissingContentRange",
        "InvalidContentRange",
        "MaxBytesExceeded",
        "OffsetMismatch",
        "UploadAlreadyComplete",
        "InvalidFilename",
        "AuthenticationRequired",
        "InvalidChunkChecksum",
        "ChunkChecksumMismatch",
        "QuotaExceeded",
    ],
    "CreateUploadResult": [
        "ChunkedUpload",
        "InvalidFilename",
        "InvalidContentRange",
        "MaxBytesExceeded",
        "InvalidChunkSize",
        "QuotaExceeded",
        "AuthenticationRequired",
    ],
    "CompleteUploadResult": [
        "ChunkedUpload",
        "UploadNotFound",
        "UploadExpired",
        "MissingChunk",
        "MaxBytesExceeded",
        "MissingChecksum",
        "ChecksumMismatch",
        "UploadAlreadyComplete",
        "UploadIncomplete",
        "InvalidFilename",
        "AuthenticationRequired",
    ],
    "CancelUploadResult": ["CancelledUpload", "UploadNotFound", "UploadAlreadyComplete"],
}


@pytest.fixture(scope="module")
def schema():
    return build_schema(SCHEMA_FILE.read_text())


def test_schema_file_is_current(tmp_path):
    generated = tmp_path / "schema.graphql"
    call_command(
        "graphql_schema", schema="example_site.schema.schema", out=str(generated), verbosity=0
    )
    assert generated.read_text() == SCHEMA_FILE.read_text(), (
        "schema.graphql is stale; regenerate it with: make schema"
    )


@pytest.mark.parametrize("type_name", sorted(CONTRACT_FIELDS))
def test_contract_fields_have_their_contract_types(schema, type_name):
    fields = schema.get_type(type_name).fields
    for field_name, field_type in CONTRACT_FIELDS[type_name].items():
        assert str(fields[field_name].type) == field_type, (type_name, field_name)


@pytest.mark.parametrize("type_and_field", sorted(CONTRACT_ARGUMENTS))
def test_contract_arguments_have_their_contract_types(schema, type_and_field):
    type_name, field_name = type_and_field
    args = schema.get_type(type_name).fields[field_name].args
    assert {name: str(arg.type) for name, arg in args.items()} == CONTRACT_ARGUMENTS[type_and_field]


@pytest.mark.parametrize("type_name", sorted(ERRORS))
def test_each_error_type_implements_upload_error(schema, type_name):
    error_type = schema.get_type(type_name)
    assert [interface.name for interface in error_type.interfaces] == ["UploadError"]


def test_error_codes_are_one_per_error_type(schema):
    expected = {**ERRORS, **ADDED_ERRORS}
    assert set(schema.get_type("UploadErrorCode").values) == set(expected.values())


@pytest.mark.parametrize("type_name", sorted(ADDED_ERRORS))
def test_added_error_types_implement_upload_error(schema, type_name):
    error_type = schema.get_type(type_name)
    assert [interface.name for interface in error_type.interfaces] == ["UploadError"]


def test_statuses_are_uploading_and_complete(schema):
    assert list(schema.get_type("ChunkedUploadStatus").values) == ["UPLOADING", "COMPLETE"]


@pytest.mark.parametrize("union_name", sorted(UNIONS))
def test_result_unions_have_their_contract_members(schema, union_name):
    members = [member.name for member in schema.get_type(union_name).types]
    expected = UNIONS[union_name] + ADDED_UNION_MEMBERS.get(union_name, [])
    assert sorted(members) == sorted(expected)


@pytest.mark.parametrize("scalar", ["Upload", "BigInt", "DateTime", "JSONString"])
def test_contract_scalars_exist(schema, scalar):
    assert schema.get_type(scalar) is not None


def test_a_field_name_means_one_type_across_all_result_types(schema):
    """Clients select union members side by side; GraphQL rejects differing types."""
    seen = {}
    for union_name in UNIONS:
        for member in schema.get_type(union_name).types:
            for field_name, field in member.fields.items():
                seen.setdefault(field_name, set()).add(str(field.type))
    conflicting = {name: types for name, types in seen.items() if len(types) > 1}
    assert conflicting == {}


def test_quota_kinds_are_those_of_the_contract(schema):
    assert list(schema.get_type("QuotaKind").values) == ["INCOMPLETE_UPLOADS", "INCOMPLETE_BYTES"]
