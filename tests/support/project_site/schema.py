"""The project's schema: its own mutations beside the app's mixins.

``setAvatar`` takes graphene-file-upload's ``Upload`` (code written before the app came), and
``setBanner`` the app's; both read the file and save it to a ``FileField`` of ``Profile``, as
project code does. graphene keeps one scalar per name, the first it meets when it builds the
schema, so the two schemas here differ only in which ``Upload`` that is:

- ``schema``: the project's mutations come first, and graphene-file-upload's scalar is kept;
- ``app_first_schema``: the app's mixin comes first, and the app's scalar is kept.
"""

from __future__ import annotations

import hashlib
from typing import Any

import graphene
import graphene_file_upload.scalars
from django.core.files.uploadedfile import UploadedFile

import chunked_graphql.scalars
import chunked_graphql.schema

from .models import Profile


class Picture(graphene.ObjectType):
    """What the resolver saw of the file, and where it saved it."""

    received = graphene.String(description="The class of the object the resolver received.")
    name = graphene.String()
    size = graphene.Int()
    content_type = graphene.String()
    multiple_chunks = graphene.Boolean()
    read_md5 = graphene.String(description="md5 of what read() returned.")
    chunks_md5 = graphene.String(description="md5 of what chunks() yielded.")
    saved_as = graphene.String(description="The name the FileField stored it under.")


def save_picture(info: Any, field: str, file: Any) -> Picture:
    """What a project's resolver typically does with an upload: read it, then save it to a
    model's FileField."""
    if not isinstance(file, UploadedFile):
        raise ValueError(f"Expected an UploadedFile, got {type(file).__name__}")
    content = file.read()
    chunks = hashlib.md5()
    for block in file.chunks():
        chunks.update(block)
    profile, _ = Profile.objects.get_or_create(user=info.context.user)
    getattr(profile, field).save(file.name, file)
    return Picture(
        received=type(file).__name__,
        name=file.name,
        size=file.size,
        content_type=file.content_type,
        multiple_chunks=file.multiple_chunks(),
        read_md5=hashlib.md5(content).hexdigest(),
        chunks_md5=chunks.hexdigest(),
        saved_as=getattr(profile, field).name,
    )


class SetAvatar(graphene.Mutation):
    class Arguments:
        file = graphene_file_upload.scalars.Upload(required=True)

    Output = Picture

    @staticmethod
    def mutate(root: Any, info: Any, file: Any) -> Picture:
        return save_picture(info, "avatar", file)


class SetBanner(graphene.Mutation):
    class Arguments:
        file = chunked_graphql.scalars.Upload(required=True)

    Output = Picture

    @staticmethod
    def mutate(root: Any, info: Any, file: Any) -> Picture:
        return save_picture(info, "banner", file)


class ProjectMutation(graphene.ObjectType):
    set_avatar = SetAvatar.Field()
    set_banner = SetBanner.Field()


class Query(chunked_graphql.schema.Query, graphene.ObjectType):
    pass


# graphene collects an ObjectType's fields from its bases last to first (reversed MRO), and
# meets the Upload scalar first in whichever mutation it collects first.


class Mutation(chunked_graphql.schema.Mutation, ProjectMutation, graphene.ObjectType):
    pass


class AppFirstMutation(ProjectMutation, chunked_graphql.schema.Mutation, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation)
app_first_schema = graphene.Schema(query=Query, mutation=AppFirstMutation)


def kept_upload_scalar(of: graphene.Schema) -> type:
    """The graphene scalar class a schema kept for the name ``Upload``."""
    kept: type = of.graphql_schema.type_map["Upload"].graphene_type
    return kept
