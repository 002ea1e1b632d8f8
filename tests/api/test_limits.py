"""The request limits through the endpoint: each refusal is HTTP 400 with one JSON error naming
the limit's setting, answered before graphql-core validates or any resolver runs, and it changes
nothing; introspection and GraphiQL follow DEBUG unless set; a document is cached only while it
passes the limits in force. The measure itself is tests/unit/test_limits.py; real servers,
tests/e2e/test_limits.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from chunked_graphql import services, views
from chunked_graphql.models import ChunkedUpload
from tests.support.graphql_client import GraphQLClient
from tests.support.uploads import files_under

pytestmark = pytest.mark.django_db


def assert_refused(response: Any, setting: str) -> str:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["errors"]
    (error,) = body["errors"]
    assert list(error) == ["message"]
    assert f"(CHUNKED_GRAPHQL_{setting})" in error["message"]
    message: str = error["message"]
    return message


@pytest.fixture
def validations(monkeypatch: Any) -> list[Any]:
    """Each call of graphql-core's validation by the endpoint."""
    calls: list[Any] = []
    validate = views.validate

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return validate(*args, **kwargs)

    monkeypatch.setattr(views, "validate", spy)
    return calls


@pytest.fixture
def resolved(monkeypatch: Any) -> list[str]:
    """The service calls the resolvers made."""
    calls: list[str] = []
    for name in ("visible_uploads", "cancel_upload", "upload_chunk"):
        original = getattr(services, name)

        def spy(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(services, name, spy)
    return calls


def aliases(count: int, field: str = "chunkedUploads { id }") -> str:
    return "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }"


def cancels(count: int) -> str:
    return (
        "mutation { "
        + " ".join(
            f'c{i}: cancelUpload(uploadId: "{"0" * 32}") {{ __typename }}' for i in range(count)
        )
        + " }"
    )


# The default limits ----------------------------------------------------------------------------


def test_a_thousand_aliased_fields_pass_the_default_limit(anon_api: GraphQLClient) -> None:
    data = anon_api.execute(aliases(1_000, "__typename"))
    assert len(data) == 1_000


def test_a_thousand_and_one_aliased_fields_are_refused_unvalidated_and_unresolved(
    anon_api: GraphQLClient, validations: list[Any], resolved: list[str]
) -> None:
    # Ending in an unknown field, as the hostile query did: the limit decides first.
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(1_000)) + " nope }"
    message = assert_refused(anon_api.post(query), "MAX_QUERY_FIELDS")
    assert message.startswith("The query has 1001 fields")
    assert (validations, resolved) == ([], [])


def test_a_query_over_max_query_bytes_is_refused_before_it_is_parsed(
    anon_api: GraphQLClient, settings: Any, monkeypatch: Any
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_QUERY_BYTES = 100
    monkeypatch.setattr("chunked_graphql.limits.parse", None)  # would raise if called
    message = assert_refused(anon_api.post("{ __typename }" + " " * 87), "MAX_QUERY_BYTES")
    assert message == (
        "The query is 101 bytes; at most 100 are allowed (CHUNKED_GRAPHQL_MAX_QUERY_BYTES)."
    )


def test_a_query_of_exactly_max_query_bytes_is_answered(
    anon_api: GraphQLClient, settings: Any
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_QUERY_BYTES = 100
    assert anon_api.execute("{ __typename }" + " " * 86) == {"__typename": "Query"}


def test_a_query_over_max_query_tokens_is_refused(anon_api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_QUERY_TOKENS = 3
    message = assert_refused(anon_api.post("{ __typename a }"), "MAX_QUERY_TOKENS")
    assert message.startswith("The query has more than 3 tokens")


def test_a_query_of_exactly_max_query_tokens_is_answered(
    anon_api: GraphQLClient, settings: Any
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_QUERY_TOKENS = 3
    assert anon_api.execute("{ __typename }") == {"__typename": "Query"}


def test_a_query_over_max_query_depth_is_refused(
    api: GraphQLClient, settings: Any, resolved: list[str]
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_QUERY_DEPTH = 1
    assert_refused(api.post("{ chunkedUploads { id } }"), "MAX_QUERY_DEPTH")
    assert resolved == []


def test_a_query_of_exactly_max_query_depth_is_answered(api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_QUERY_DEPTH = 2
    assert api.execute("{ chunkedUploads { id } }") == {"chunkedUploads": []}


def test_cyclic_fragments_are_refused_by_graphql_cores_rule_not_a_recursion(
    api: GraphQLClient,
) -> None:
    response = api.post(
        "{ chunkedUploads { ...A } } fragment A on ChunkedUpload { id ...B }"
        " fragment B on ChunkedUpload { ...A }"
    )
    assert response.status_code == 400
    assert "Cannot spread fragment 'A' within itself" in response.json()["errors"][0]["message"]


def test_max_upload_fields_upload_fields_are_answered(api: GraphQLClient) -> None:
    data = api.execute(cancels(5))
    assert {result["__typename"] for result in data.values()} == {"UploadNotFound"}


def test_one_upload_field_over_max_upload_fields_is_refused_before_any_resolver(
    api: GraphQLClient, resolved: list[str]
) -> None:
    message = assert_refused(api.post(cancels(6)), "MAX_UPLOAD_FIELDS")
    assert message.startswith("The query has 6 upload fields; at most 5 are allowed")
    assert resolved == []


def test_a_thousand_aliased_upload_chunks_sharing_one_file_store_nothing(
    api: GraphQLClient, media_root: Any
) -> None:
    count = 1_000
    variables = {f"f{i}": None for i in range(count)}
    query = (
        "mutation("
        + ", ".join(f"$f{i}: Upload" for i in range(count))
        + ") { "
        + " ".join(
            f'u{i}: uploadChunk(file: $f{i}, contentRange: "bytes 0-9/10", filename: "x")'
            " { __typename }"
            for i in range(count)
        )
        + " }"
    )
    operations = json.dumps({"query": query, "variables": variables})
    files_map = json.dumps({"0": [f"variables.f{i}" for i in range(count)]})
    response = api.client.post(
        "/graphql/",
        {"operations": operations, "map": files_map, "0": SimpleUploadedFile("c", b"x" * 10)},
    )
    assert response.status_code == 400
    assert ChunkedUpload.objects.count() == 0
    assert files_under(media_root) == []


def test_two_upload_fields_taking_a_file_are_refused(api: GraphQLClient) -> None:
    response = api.post(
        "mutation($a: Upload, $b: Upload) {"
        ' x: uploadChunk(file: $a, contentRange: "bytes 0-0/1", filename: "a") { __typename }'
        ' y: uploadChunk(file: $b, contentRange: "bytes 0-0/1", filename: "b") { __typename } }',
        files={"a": b"a", "b": b"b"},
    )
    assert response.status_code == 400
    assert "2 upload fields taking a file" in response.json()["errors"][0]["message"]
    assert ChunkedUpload.objects.count() == 0


# Introspection and GraphiQL --------------------------------------------------------------------


def assert_introspection_refused(response: Any) -> None:
    """graphql-core's rule reports each field of an introspection type, with its location."""
    assert response.status_code == 400, response.content
    messages = [error["message"] for error in response.json()["errors"]]
    assert messages
    for message in messages:
        assert "introspection has been disabled" in message
        assert message.endswith("(CHUNKED_GRAPHQL_INTROSPECTION)")


@pytest.mark.parametrize(
    "query", ["{ __schema { queryType { name } } }", '{ __type(name: "ChunkedUpload") { name } }']
)
def test_introspection_is_refused_with_debug_off(anon_api: GraphQLClient, query: str) -> None:
    assert_introspection_refused(anon_api.post(query))


def test_typename_stays_allowed_with_introspection_off(anon_api: GraphQLClient) -> None:
    assert anon_api.execute("{ __typename }") == {"__typename": "Query"}


def test_introspection_is_answered_when_set_on(anon_api: GraphQLClient, settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_INTROSPECTION = True
    data = anon_api.execute("{ __schema { queryType { name } } }")
    assert data == {"__schema": {"queryType": {"name": "Query"}}}


def test_introspection_is_answered_with_debug_on(anon_api: GraphQLClient, settings: Any) -> None:
    settings.DEBUG = True
    assert anon_api.execute('{ __type(name: "ChunkedUpload") { name } }')


def test_introspection_set_off_is_refused_with_debug_on(
    anon_api: GraphQLClient, settings: Any
) -> None:
    settings.DEBUG = True
    settings.CHUNKED_GRAPHQL_INTROSPECTION = False
    assert_introspection_refused(anon_api.post("{ __schema { queryType { name } } }"))


def test_a_browser_gets_no_graphiql_with_debug_off(client: Any) -> None:
    response = client.get("/graphql/", HTTP_ACCEPT="text/html")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"errors": [{"message": "Must provide query string."}]}


def test_a_browser_gets_graphiql_with_debug_on(client: Any, settings: Any) -> None:
    settings.DEBUG = True
    response = client.get("/graphql/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"graphiql" in response.content.lower()


def test_graphiql_set_off_is_not_served_with_debug_on(client: Any, settings: Any) -> None:
    settings.DEBUG = True
    settings.CHUNKED_GRAPHQL_GRAPHIQL = False
    assert client.get("/graphql/", HTTP_ACCEPT="text/html").status_code == 400


def test_a_browsers_get_with_a_query_is_answered_as_json_with_graphiql_off(client: Any) -> None:
    response = client.get("/graphql/", {"query": "{ __typename }"}, HTTP_ACCEPT="text/html")
    assert response.json() == {"data": {"__typename": "Query"}}


# The document cache ----------------------------------------------------------------------------


def test_a_valid_document_is_parsed_once(anon_api: GraphQLClient, monkeypatch: Any) -> None:
    views._DOCUMENTS.clear()
    parsed: list[str] = []
    parse_query = views.limits.parse_query

    def spy(query: str) -> Any:
        parsed.append(query)
        return parse_query(query)

    monkeypatch.setattr(views.limits, "parse_query", spy)
    for _ in range(3):
        anon_api.execute("{ a: __typename }")
    assert len(parsed) == 1


def test_chunks_of_one_upload_are_measured_and_validated_once(
    api: GraphQLClient, validations: list[Any], monkeypatch: Any
) -> None:
    """The operation a client sends for every chunk (a multipart request, with different
    variables each time) comes from the cache after the first: neither the limits nor
    graphql-core's rules look at it again."""
    views._DOCUMENTS.clear()
    measured: list[Any] = []
    check_document = views.limits.check_document

    def spy(*args: Any) -> Any:
        measured.append(args)
        return check_document(*args)

    monkeypatch.setattr(views.limits, "check_document", spy)
    result = api.upload(b"x" * 30, 10)
    assert result["offset"] == 30
    assert (len(measured), len(validations)) == (1, 1)


def test_a_cached_document_is_held_to_limits_set_later(
    anon_api: GraphQLClient, settings: Any
) -> None:
    anon_api.execute(aliases(3, "__typename"))
    settings.CHUNKED_GRAPHQL_MAX_QUERY_FIELDS = 2
    assert_refused(anon_api.post(aliases(3, "__typename")), "MAX_QUERY_FIELDS")


def test_an_invalid_document_is_not_cached(anon_api: GraphQLClient) -> None:
    views._DOCUMENTS.clear()
    assert anon_api.post("{ nope }").status_code == 400
    assert len(views._DOCUMENTS) == 0
