"""GraphQL types: the upload, its status, the typed errors and the result unions.

The error types and the result unions are made from the exception table of
``chunked_graphql.exceptions``, so a new typed error needs no GraphQL code. A typed error travels
as an ``ErrorResult`` wrapping the service's exception (graphql-core would raise an exception
returned as is): each GraphQL error type reads ``code``, ``message``, ``http_status`` and its
extra fields straight off the wrapped exception.
"""

from __future__ import annotations

import inspect
from typing import Any

import graphene
from django.urls import NoReverseMatch, reverse

from . import exceptions
from .models import AbstractChunkedUpload

UPLOAD_URL_NAME = "chunked_graphql:upload"


class ChunkedUploadStatus(graphene.Enum):
    """Where an upload stands."""

    UPLOADING = AbstractChunkedUpload.Status.UPLOADING.value
    COMPLETE = AbstractChunkedUpload.Status.COMPLETE.value

    @property
    def description(self) -> str:
        if self == ChunkedUploadStatus.UPLOADING:
            return "Chunks are still being received; the upload can be continued."
        return "All bytes arrived and the checksum matched."


class ByteRange(graphene.ObjectType):
    """An inclusive range of bytes of the file, as in contentRange."""

    start = graphene.BigInt(required=True)
    end = graphene.BigInt(required=True)

    @staticmethod
    def resolve_start(pair: tuple[int, int], info: Any) -> int:
        return pair[0]

    @staticmethod
    def resolve_end(pair: tuple[int, int], info: Any) -> int:
        return pair[1]


QuotaKind = graphene.Enum.from_enum(
    exceptions.QuotaKind, name="QuotaKind", description="A per-user quota on incomplete uploads."
)


class ChunkedUploadType(graphene.ObjectType):
    """A resumable upload and how far it has got."""

    class Meta:
        name = "ChunkedUpload"

    id = graphene.ID(required=True, description="The upload's UUID.")
    url = graphene.String(
        required=True,
        description=(
            "Absolute URL of this upload: GraphQL requests posted there that omit uploadId act "
            "on this upload."
        ),
    )
    filename = graphene.String(required=True, description="The client's filename, verbatim.")
    offset = graphene.BigInt(
        required=True, description="Bytes stored so far: where the next chunk must start."
    )
    total_size = graphene.BigInt(description="The TOTAL declared by the first chunk.")
    expires = graphene.DateTime(
        required=True, description="When an incomplete upload expires (createdAt + delta)."
    )
    status = graphene.Field(ChunkedUploadStatus, required=True)
    created_at = graphene.DateTime(required=True)
    completed_at = graphene.DateTime()
    checksum_algorithm = graphene.String(
        required=True, description='The hashlib algorithm completeUpload checks, e.g. "md5".'
    )
    response_data = graphene.JSONString(
        description="What the project's completion hook returned, if anything."
    )
    parallel = graphene.Boolean(
        required=True, description="Chunks may arrive in any order, several at once."
    )
    chunk_size = graphene.BigInt(
        description="The fixed chunk size of a parallel upload; null when serial."
    )
    missing_ranges = graphene.NonNull(
        graphene.List(graphene.NonNull(ByteRange)),
        description=(
            "What still has to be sent, ascending; ranges being received count as missing."
        ),
    )
    expired = graphene.Boolean(
        required=True, description="An incomplete upload past its expiry; it cannot continue."
    )

    @staticmethod
    def resolve_id(upload: AbstractChunkedUpload, info: Any) -> str:
        return str(upload.pk)

    @staticmethod
    def resolve_url(upload: AbstractChunkedUpload, info: Any) -> str:
        try:
            path = reverse(UPLOAD_URL_NAME, kwargs={"upload_id": str(upload.pk)})
        except NoReverseMatch:
            # The project mounted the view without chunked_graphql.urls (a system check warns).
            path = ""
        build = getattr(info.context, "build_absolute_uri", None)
        return build(path) if build is not None and path else path

    @staticmethod
    def resolve_status(upload: AbstractChunkedUpload, info: Any) -> int:
        # A plain int: graphene would not map a Django IntegerChoices member onto its enum.
        return int(upload.status)

    @staticmethod
    def resolve_expires(upload: AbstractChunkedUpload, info: Any) -> Any:
        return upload.expires_at

    @staticmethod
    def resolve_missing_ranges(upload: AbstractChunkedUpload, info: Any) -> list[tuple[int, int]]:
        return upload.missing_ranges()


class UploadLimitsType(graphene.ObjectType):
    """The server's limits, as a client should know them before it sends an upload."""

    class Meta:
        name = "UploadLimits"

    max_bytes = graphene.BigInt(description="MAX_BYTES: the largest file; null = no limit.")
    max_chunk_size = graphene.BigInt(
        required=True, description="MAX_CHUNK_SIZE: the largest chunk one request may carry."
    )
    expires_in = graphene.Int(
        required=True, description="Seconds an incomplete upload lives (EXPIRATION_DELTA)."
    )
    checksum_algorithm = graphene.String(
        required=True, description='What a new upload\'s completeUpload checks, e.g. "md5".'
    )
    min_parallel_chunk_size = graphene.BigInt(
        required=True, description="The smallest chunkSize a parallel upload may use."
    )
    max_parts = graphene.Int(
        description="The most chunks a parallel upload may have; null = no limit."
    )
    chunk_checksum_algorithms = graphene.NonNull(
        graphene.List(graphene.NonNull(graphene.String)),
        description='What uploadChunk\'s chunkChecksum may use, e.g. "sha256".',
    )
    max_incomplete_uploads = graphene.Int(
        description="MAX_INCOMPLETE_UPLOADS: a user's incomplete uploads; null = no quota."
    )
    max_incomplete_bytes = graphene.BigInt(
        description=(
            "MAX_INCOMPLETE_BYTES: the declared sizes of a user's incomplete uploads, in all; "
            "null = no quota."
        )
    )
    max_page_size = graphene.Int(
        required=True, description="MAX_PAGE_SIZE: the most uploads chunkedUploads lists."
    )


class CancelledUpload(graphene.ObjectType):
    """The upload that was cancelled; its row and bytes are gone."""

    id = graphene.ID(required=True)


UploadErrorCode = graphene.Enum.from_enum(
    exceptions.ErrorCode,
    name="UploadErrorCode",
    description="What went wrong: one value per typed error.",
)


class UploadError(graphene.Interface):
    """A refused request. The request changed nothing."""

    code = graphene.Field(UploadErrorCode, required=True)
    message = graphene.String(required=True, description="Human readable; fit to show a user.")
    http_status = graphene.Int(
        required=True, description="The HTTP status drf-chunked-upload answers for this case."
    )


# The error types and the unions are made from the exception table (chunked_graphql.exceptions):
# one GraphQL type per typed error, of the same name, with its extra fields.

_FIELD_TYPES: dict[str, Any] = {
    "BigInt": graphene.BigInt,
    "String": graphene.String,
    "Int": graphene.Int,
    "QuotaKind": QuotaKind,
    "[ByteRange!]": lambda **kwargs: graphene.List(graphene.NonNull(ByteRange), **kwargs),
}


def _error_type(error: type[exceptions.ChunkedUploadError]) -> type[graphene.ObjectType]:
    attributes: dict[str, Any] = {
        name: _FIELD_TYPES[kind](required=True) for name, kind in error.fields.items()
    }
    # cleandoc: Python 3.13 strips a docstring's indentation itself, earlier versions do not,
    # and the schema must read the same on both.
    description = inspect.cleandoc(error.__doc__ or "")
    meta = type("Meta", (), {"interfaces": (UploadError,), "description": description})
    return type(error.__name__, (graphene.ObjectType,), {"Meta": meta, **attributes})


ERROR_TYPES: dict[type[exceptions.ChunkedUploadError], type[graphene.ObjectType]] = {
    error: _error_type(error) for error in exceptions.typed_errors()
}


class ErrorResult:
    """A typed error as a GraphQL result: exposes the wrapped exception's attributes."""

    def __init__(self, error: exceptions.ChunkedUploadError) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        return getattr(self.error, name)


def _resolve_result_type(instance: object, info: Any) -> type[graphene.ObjectType]:
    if isinstance(instance, AbstractChunkedUpload):
        return ChunkedUploadType
    if isinstance(instance, ErrorResult):
        return ERROR_TYPES[type(instance.error)]
    if isinstance(instance, CancelledUpload):
        return CancelledUpload
    raise TypeError(f"No GraphQL result type for {instance!r}")


class _ResultUnion(graphene.Union):
    class Meta:
        abstract = True

    @classmethod
    def resolve_type(cls, instance: object, info: Any) -> type[graphene.ObjectType]:
        return _resolve_result_type(instance, info)


def _result_union(
    operation: str, success: type[graphene.ObjectType], description: str
) -> type[_ResultUnion]:
    members = (success, *(t for e, t in ERROR_TYPES.items() if operation in e.returned_by))
    meta = type("Meta", (), {"types": members, "description": description})
    name = exceptions.RESULT_UNIONS[operation]
    union: type[_ResultUnion] = type(name, (_ResultUnion,), {"Meta": meta})
    return union


CreateUploadResult = _result_union(
    exceptions.CREATE_UPLOAD, ChunkedUploadType, "The new upload, or why not."
)
UploadChunkResult = _result_union(
    exceptions.UPLOAD_CHUNK, ChunkedUploadType, "The upload with the chunk stored, or why not."
)
CompleteUploadResult = _result_union(
    exceptions.COMPLETE_UPLOAD, ChunkedUploadType, "The completed upload, or why not."
)
CancelUploadResult = _result_union(
    exceptions.CANCEL_UPLOAD, CancelledUpload, "The cancelled upload's id, or why not."
)
