"""The ``Query`` and ``Mutation`` mixins a project adds to its own graphene schema.

    class Query(chunked_graphql.schema.Query, graphene.ObjectType): ...
    class Mutation(chunked_graphql.schema.Mutation, graphene.ObjectType): ...
    schema = graphene.Schema(query=Query, mutation=Mutation)

Resolvers only translate: arguments in, the service's result or typed error out. The logic lives
in ``chunked_graphql.services``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import graphene
from graphql import GraphQLError

from . import services
from .exceptions import ChunkedUploadError, ChunkStorageError
from .models import AbstractChunkedUpload
from .scalars import Upload
from .types import (
    CancelledUpload,
    CancelUploadResult,
    ChunkedUploadStatus,
    ChunkedUploadType,
    CompleteUploadResult,
    CreateUploadResult,
    ErrorResult,
    UploadChunkResult,
    UploadLimitsType,
)

#: The URL keyword argument that addresses an upload (see ``chunked_graphql.urls``).
URL_UPLOAD_ID = "upload_id"


def typed_errors(mutate: Callable[..., Any]) -> Callable[..., Any]:
    """Answer the service's typed errors as members of the result union, and a failing storage
    as a GraphQL error with ``extensions.code = "STORAGE_ERROR"``."""

    @functools.wraps(mutate)
    def wrapper(root: Any, info: Any, **arguments: Any) -> Any:
        try:
            return mutate(root, info, **arguments)
        except ChunkedUploadError as error:
            return ErrorResult(error)
        except ChunkStorageError as error:
            # A GraphQL error rather than a typed result: the request did nothing wrong, and
            # the same request may well succeed later. The code tells clients that retrying is
            # worth it.
            raise GraphQLError(str(error), extensions={"code": error.code}) from error

    return wrapper


def _user(info: Any) -> Any:
    return getattr(info.context, "user", None)


def _addressed(info: Any, upload_id: str | None) -> str | None:
    """The upload a request addresses: ``uploadId`` if given, else the one in the URL the
    request was posted to."""
    if upload_id is not None:
        return upload_id
    match = getattr(info.context, "resolver_match", None)
    addressed: str | None = match.kwargs.get(URL_UPLOAD_ID) if match is not None else None
    return addressed


class Query(graphene.ObjectType):
    chunked_upload = graphene.Field(
        ChunkedUploadType,
        id=graphene.ID(required=True, description="Hyphenated UUID or 32 hex digits."),
        description="An upload of the caller's; null when absent or not visible.",
    )
    chunked_uploads = graphene.Field(
        graphene.NonNull(graphene.List(graphene.NonNull(ChunkedUploadType))),
        status=graphene.Argument(ChunkedUploadStatus),
        first=graphene.Int(
            description="How many to list: 1 to uploadLimits.maxPageSize (the default)."
        ),
        after=graphene.ID(description="The id of the last upload of the previous page."),
        description=(
            "The caller's uploads (every upload when USER_RESTRICTED is off), newest first, "
            "one page at a time."
        ),
    )
    upload_limits = graphene.Field(
        graphene.NonNull(UploadLimitsType), description="The server's limits on uploads."
    )

    @staticmethod
    def resolve_chunked_upload(root: Any, info: Any, id: str) -> AbstractChunkedUpload | None:
        return services.get_visible_upload(_user(info), id)

    @staticmethod
    def resolve_chunked_uploads(
        root: Any,
        info: Any,
        status: Any = None,
        first: int | None = None,
        after: str | None = None,
    ) -> list[AbstractChunkedUpload]:
        return services.upload_page(
            _user(info), status=getattr(status, "value", status), first=first, after=after
        )

    @staticmethod
    def resolve_upload_limits(root: Any, info: Any) -> services.UploadLimits:
        return services.upload_limits()


class CreateUpload(graphene.Mutation):
    """Create an upload before sending any of its bytes, so its id is known first. A parallel
    upload takes chunks of chunkSize bytes in any order, several at once."""

    class Arguments:
        filename = graphene.String(required=True, description="The file's name.")
        total_size = graphene.BigInt(required=True, description="The file's size in bytes.")
        parallel = graphene.Boolean(
            description="Chunks may arrive in any order, several at once (needs chunkSize)."
        )
        chunk_size = graphene.BigInt(
            description="A parallel upload's chunk size; see uploadLimits for its bounds."
        )

    Output = CreateUploadResult

    @staticmethod
    @typed_errors
    def mutate(
        root: Any,
        info: Any,
        filename: str,
        total_size: int,
        parallel: bool | None = None,
        chunk_size: int | None = None,
    ) -> Any:
        return services.create_upload(
            user=_user(info),
            filename=filename,
            total_size=total_size,
            parallel=bool(parallel),
            chunk_size=chunk_size,
        )


class UploadChunk(graphene.Mutation):
    """Store one chunk. Without uploadId (and not posted to an upload's url) it starts a new
    upload, which needs a filename and a chunk starting at byte 0."""

    class Arguments:
        upload_id = graphene.ID(description="The upload to continue.")
        file = Upload(description="The chunk's bytes, as a multipart file part.")
        content_range = graphene.String(
            description="'bytes START-END/TOTAL': inclusive byte range and the file's size."
        )
        filename = graphene.String(description="The file's name; required for a new upload.")
        chunk_checksum = graphene.String(
            description='"<algorithm>:<hex digest>" of this chunk; a mismatch stores nothing.'
        )

    Output = UploadChunkResult

    @staticmethod
    @typed_errors
    def mutate(
        root: Any,
        info: Any,
        upload_id: str | None = None,
        file: Any = None,
        content_range: str | None = None,
        filename: str | None = None,
        chunk_checksum: str | None = None,
    ) -> Any:
        return services.upload_chunk(
            user=_user(info),
            chunk=file,
            content_range=content_range,
            upload_id=_addressed(info, upload_id),
            filename=filename,
            chunk_checksum=chunk_checksum,
        )


class CompleteUpload(graphene.Mutation):
    """Finish an upload once every byte has arrived, checking the checksum. Without an upload
    addressed, a whole file sent in `file` is created and completed at once."""

    class Arguments:
        upload_id = graphene.ID(description="The upload to complete.")
        checksum = graphene.String(description="Hex digest of the whole file.")
        file = Upload(description="A whole file, when no upload is addressed.")
        filename = graphene.String(description="The whole file's name.")

    Output = CompleteUploadResult

    @staticmethod
    @typed_errors
    def mutate(
        root: Any,
        info: Any,
        upload_id: str | None = None,
        checksum: str | None = None,
        file: Any = None,
        filename: str | None = None,
    ) -> Any:
        addressed = _addressed(info, upload_id)
        if addressed is None:
            return services.upload_whole_file(
                user=_user(info),
                file=file,
                filename=filename,
                checksum=checksum,
                request=info.context,
            )
        return services.complete_upload(
            user=_user(info), upload_id=addressed, checksum=checksum, request=info.context
        )


class CancelUpload(graphene.Mutation):
    """Delete an incomplete upload and its bytes."""

    class Arguments:
        upload_id = graphene.ID(required=True)

    Output = CancelUploadResult

    @staticmethod
    @typed_errors
    def mutate(root: Any, info: Any, upload_id: str) -> Any:
        # An UploadBusy here (a ChunkStorageError): a chunk is still being written.
        pk = services.cancel_upload(user=_user(info), upload_id=upload_id)
        return CancelledUpload(id=str(pk))


class Mutation(graphene.ObjectType):
    create_upload = CreateUpload.Field(required=True)
    upload_chunk = UploadChunk.Field(required=True)
    complete_upload = CompleteUpload.Field(required=True)
    cancel_upload = CancelUpload.Field(required=True)
