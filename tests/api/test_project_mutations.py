"""A project's own mutations beside the app's, served by the app's endpoint: graphene merges
every scalar named ``Upload`` into one, so what it hands a resolver must be a Django
``UploadedFile`` for the project's code and a chunk source for the app's service (sources.py).
"""

from __future__ import annotations

from typing import Any

import graphene
import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import path

import chunked_graphql.schema
from chunked_graphql.scalars import Upload
from chunked_graphql.views import ChunkedUploadGraphQLView
from tests.support.graphql_client import GraphQLClient, md5

DATA = b"0123456789abcdefghij"


class FileFacts(graphene.ObjectType):
    name = graphene.String()
    size = graphene.Int()
    content_type = graphene.String()
    content = graphene.String()
    chunks = graphene.String()
    multiple_chunks = graphene.Boolean()
    saved = graphene.String()


def facts(file: Any, *, save_as: str | None = None) -> FileFacts:
    """What a project's resolver typically does with an uploaded file."""
    content = file.read()
    file.seek(0)
    chunks = b"".join(file.chunks(4))
    saved = None
    if save_as is not None:
        stored = default_storage.save(save_as, file)
        with default_storage.open(stored) as stored_file:
            saved = stored_file.read().decode()
    return FileFacts(
        name=file.name,
        size=file.size,
        content_type=file.content_type,
        content=content.decode(),
        chunks=chunks.decode(),
        multiple_chunks=file.multiple_chunks(4),
        saved=saved,
    )


class SetAvatar(graphene.Mutation):
    class Arguments:
        file = Upload(required=True)

    Output = FileFacts

    @staticmethod
    def mutate(root: Any, info: Any, file: Any) -> FileFacts:
        return facts(file, save_as="avatars/a.bin")


class SetPair(graphene.Mutation):
    class Arguments:
        first = Upload(required=True)
        second = Upload(required=True)

    Output = graphene.List(FileFacts)

    @staticmethod
    def mutate(root: Any, info: Any, first: Any, second: Any) -> list[FileFacts]:
        return [facts(first), facts(second)]


class Query(chunked_graphql.schema.Query, graphene.ObjectType):
    pass


class Mutation(chunked_graphql.schema.Mutation, graphene.ObjectType):
    set_avatar = SetAvatar.Field()
    set_pair = SetPair.Field()


project_schema = graphene.Schema(query=Query, mutation=Mutation)

urlpatterns = [
    path("graphql/", ChunkedUploadGraphQLView.as_view(schema=project_schema), name="graphql"),
]

pytestmark = pytest.mark.urls(__name__)

FACTS = "name size contentType content chunks multipleChunks saved"


@pytest.fixture
def client(user: Any) -> GraphQLClient:
    django_client = Client()
    django_client.force_login(user)
    return GraphQLClient(django_client)


def test_a_project_mutation_reads_a_streamed_file_as_an_uploaded_file(
    client: GraphQLClient,
) -> None:
    """One file in the request: the endpoint's streaming path."""
    data = client.execute(
        f"mutation($file: Upload!) {{ setAvatar(file: $file) {{ {FACTS} }} }}",
        files={"file": DATA},
    )

    assert data["setAvatar"] == {
        "name": "file.bin",
        "size": len(DATA),
        "contentType": "text/plain",  # what the test client sends
        "content": DATA.decode(),
        "chunks": DATA.decode(),
        "multipleChunks": True,
        "saved": DATA.decode(),
    }


def test_a_project_mutation_reads_several_files_as_uploaded_files(
    client: GraphQLClient,
) -> None:
    """Several files in the request: each received whole before the resolvers run."""
    data = client.execute(
        f"mutation($first: Upload!, $second: Upload!) {{"
        f" setPair(first: $first, second: $second) {{ {FACTS} }} }}",
        files={"first": DATA, "second": DATA[:5]},
    )

    first, second = data["setPair"]
    assert (first["name"], first["size"], first["content"]) == ("first.bin", 20, DATA.decode())
    assert (second["name"], second["size"], second["chunks"]) == ("second.bin", 5, "01234")


def test_the_apps_mutations_still_stream_in_the_same_schema(client: GraphQLClient) -> None:
    uploaded = client.upload_and_complete(DATA, 7)

    assert uploaded["status"] == "COMPLETE", uploaded
    assert uploaded["checksumAlgorithm"] == "md5"
    assert client.complete(uploaded["id"], md5(DATA))["__typename"] == "UploadAlreadyComplete"


def test_a_project_mutation_and_an_upload_share_one_file_part(client: GraphQLClient) -> None:
    """The multipart spec lets one part feed several fields; the project's field reads it as a
    file first, and the app's upload still gets every byte."""
    data = client.execute(
        "mutation($file: Upload!, $range: String) {"
        f" setAvatar(file: $file) {{ {FACTS} }}"
        ' uploadChunk(file: $file, contentRange: $range, filename: "a.bin") {'
        " __typename ... on ChunkedUpload { offset } } }",
        {"range": f"bytes 0-{len(DATA) - 1}/{len(DATA)}"},
        files={"file": DATA},
    )

    assert data["setAvatar"]["content"] == DATA.decode()
    assert data["uploadChunk"] == {"__typename": "ChunkedUpload", "offset": len(DATA)}
