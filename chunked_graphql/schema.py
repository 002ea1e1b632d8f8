"""The ``Query`` and ``Mutation`` mixins a project adds to its own graphene schema.

    class Query(chunked_graphql.schema.Query, graphene.ObjectType): ...
    class Mutation(chunked_graphql.schema.Mutation, graphene.ObjectType): ...
    schema = graphene.Schema(query=Query, mutation=Mutation)

Resolvers only translate: arguments in, the service's result or typed error out. The logic lives
in ``chunked_graphql.services``.
"""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import QuerySet
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
    ErrorResult,
    UploadChunkResult,
)
from .views import url_upload_id


def _storage_error(error: ChunkStorageError) -> GraphQLError:
    # A GraphQL error rather than a typed result: the request did nothing wrong, and the same
    # request may well succeed later. The code tells clients that retrying is worth it.
    return GraphQLError(str(error), extensions={"code": error.code})


def _user(info: Any) -> Any:
    return getattr(info.context, "user", None)


def _addressed(info: Any, upload_id: str | None) -> str | None:
    """The upload a request addresses: ``uploadId`` if given, else the one in the URL."""
    return upload_id if upload_id is not None else url_upload_id(info.context)


class Query(graphene.ObjectType):
    chunked_upload = graphene.Field(
        ChunkedUploadType,
        id=graphene.ID(required=True, description="Hyphenated UUID or 32 hex digits."),
        description="An upload of the caller's; null when absent or not visible.",
    )
    chunked_uploads = graphene.Field(
        graphene.NonNull(graphene.List(graphene.NonNull(ChunkedUploadType))),
        status=graphene.Argument(ChunkedUploadStatus),
        description=(
            "The caller's uploads, oldest first (every upload when USER_RESTRICTED is off)."
        ),
    )

    @staticmethod
    def resolve_chunked_upload(root: Any, info: Any, id: str) -> AbstractChunkedUpload | None:
        return services.get_visible_upload(_user(info), id)

    @staticmethod
    def resolve_chunked_uploads(
        root: Any, info: Any, status: Any = None
    ) -> QuerySet[AbstractChunkedUpload]:
        uploads = services.visible_uploads(_user(info))
        if status is not None:
            uploads = uploads.filter(status=getattr(status, "value", status))
        return uploads.order_by("created_at", "pk")


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

    Output = UploadChunkResult

    @staticmethod
    def mutate(
        root: Any,
        info: Any,
        upload_id: str | None = None,
        file: Any = None,
        content_range: str | None = None,
        filename: str | None = None,
    ) -> Any:
        try:
            return services.upload_chunk(
                user=_user(info),
                chunk=file,
                content_range=content_range,
                upload_id=_addressed(info, upload_id),
                filename=filename,
            )
        except ChunkedUploadError as error:
            return ErrorResult(error)
        except ChunkStorageError as error:
            raise _storage_error(error) from error


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
    def mutate(
        root: Any,
        info: Any,
        upload_id: str | None = None,
        checksum: str | None = None,
        file: Any = None,
        filename: str | None = None,
    ) -> Any:
        addressed = _addressed(info, upload_id)
        try:
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
        except ChunkedUploadError as error:
            return ErrorResult(error)
        except ChunkStorageError as error:
            raise _storage_error(error) from error


class CancelUpload(graphene.Mutation):
    """Delete an incomplete upload and its bytes."""

    class Arguments:
        upload_id = graphene.ID(required=True)

    Output = CancelUploadResult

    @staticmethod
    def mutate(root: Any, info: Any, upload_id: str) -> Any:
        try:
            pk = services.cancel_upload(user=_user(info), upload_id=upload_id)
        except ChunkedUploadError as error:
            return ErrorResult(error)
        except ChunkStorageError as error:  # waiting for a chunk being written timed out
            raise _storage_error(error) from error
        return CancelledUpload(id=str(pk))


class Mutation(graphene.ObjectType):
    upload_chunk = UploadChunk.Field(required=True)
    complete_upload = CompleteUpload.Field(required=True)
    cancel_upload = CancelUpload.Field(required=True)
