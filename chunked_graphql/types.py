"""GraphQL types: the upload, its status, the typed errors and the result unions.

A typed error travels as an ``ErrorResult`` wrapping the service's exception (graphql-core would
raise an exception returned as is): each GraphQL error type reads ``code``, ``message``,
``http_status`` and its extra fields straight off the wrapped exception.
"""

from __future__ import annotations

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


class _ErrorMeta:
    interfaces = (UploadError,)


class UploadNotFound(graphene.ObjectType):
    """No such upload, or not one the caller may see."""

    Meta = _ErrorMeta


class UploadExpired(graphene.ObjectType):
    """The upload expired before it was completed."""

    Meta = _ErrorMeta


class MissingChunk(graphene.ObjectType):
    """No usable file was sent: absent, not a file part, or empty."""

    Meta = _ErrorMeta


class MissingContentRange(graphene.ObjectType):
    """contentRange was absent or empty."""

    Meta = _ErrorMeta


class InvalidContentRange(graphene.ObjectType):
    """contentRange is malformed, inconsistent, or disagrees with the chunk or the upload."""

    Meta = _ErrorMeta


class MaxBytesExceeded(graphene.ObjectType):
    """The file is larger than the MAX_BYTES setting allows."""

    Meta = _ErrorMeta

    max_bytes = graphene.BigInt(required=True)


class ChunkTooLarge(graphene.ObjectType):
    """The chunk is larger than the MAX_CHUNK_SIZE setting allows; nothing of it was stored."""

    Meta = _ErrorMeta

    max_chunk_size = graphene.BigInt(required=True)


class OffsetMismatch(graphene.ObjectType):
    """The chunk does not start where the upload's stored bytes end."""

    Meta = _ErrorMeta

    expected_offset = graphene.BigInt(required=True)
    provided_offset = graphene.BigInt(required=True)


class MissingChecksum(graphene.ObjectType):
    """completeUpload needs the hex digest of the whole file."""

    Meta = _ErrorMeta

    algorithm = graphene.String(required=True)


class ChecksumMismatch(graphene.ObjectType):
    """The checksum differs from the digest of the stored bytes; the upload stays open."""

    Meta = _ErrorMeta


class UploadAlreadyComplete(graphene.ObjectType):
    """The upload is already complete."""

    Meta = _ErrorMeta


class UploadIncomplete(graphene.ObjectType):
    """Not all declared bytes have arrived yet."""

    Meta = _ErrorMeta

    offset = graphene.BigInt(required=True)
    expected_size = graphene.BigInt(required=True)


class InvalidFilename(graphene.ObjectType):
    """filename is missing, blank, longer than 255 characters or holds a control character."""

    Meta = _ErrorMeta


class AuthenticationRequired(graphene.ObjectType):
    """USER_RESTRICTED is on and the caller is anonymous."""

    Meta = _ErrorMeta


ERROR_TYPES: dict[type[exceptions.ChunkedUploadError], type[graphene.ObjectType]] = {
    exceptions.UploadNotFound: UploadNotFound,
    exceptions.UploadExpired: UploadExpired,
    exceptions.MissingChunk: MissingChunk,
    exceptions.MissingContentRange: MissingContentRange,
    exceptions.InvalidContentRange: InvalidContentRange,
    exceptions.MaxBytesExceeded: MaxBytesExceeded,
    exceptions.ChunkTooLarge: ChunkTooLarge,
    exceptions.OffsetMismatch: OffsetMismatch,
    exceptions.MissingChecksum: MissingChecksum,
    exceptions.ChecksumMismatch: ChecksumMismatch,
    exceptions.UploadAlreadyComplete: UploadAlreadyComplete,
    exceptions.UploadIncomplete: UploadIncomplete,
    exceptions.InvalidFilename: InvalidFilename,
    exceptions.AuthenticationRequired: AuthenticationRequired,
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


class UploadChunkResult(_ResultUnion):
    class Meta:
        types = (
            ChunkedUploadType,
            UploadNotFound,
            UploadExpired,
            MissingChunk,
            MissingContentRange,
            InvalidContentRange,
            MaxBytesExceeded,
            ChunkTooLarge,
            OffsetMismatch,
            UploadAlreadyComplete,
            InvalidFilename,
            AuthenticationRequired,
        )


class CompleteUploadResult(_ResultUnion):
    class Meta:
        types = (
            ChunkedUploadType,
            UploadNotFound,
            UploadExpired,
            MissingChunk,
            MaxBytesExceeded,
            MissingChecksum,
            ChecksumMismatch,
            UploadAlreadyComplete,
            UploadIncomplete,
            InvalidFilename,
            AuthenticationRequired,
        )


class CancelUploadResult(_ResultUnion):
    class Meta:
        types = (CancelledUpload, UploadNotFound, UploadAlreadyComplete)
