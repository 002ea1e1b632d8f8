"""Requests whose parameters have the wrong shape, and resolvers that fail unexpectedly: every
malformed body is HTTP 400 with one JSON error, whatever its nesting or the JSON type of
``query``, ``variables``, ``operationName``, ``operations`` or ``map``; an exception no resolver
meant to raise is logged on the ``chunked_graphql`` logger and reaches the client only as a
generic message (the specification, docs/specification.md, §2; docs/errors.md)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from chunked_graphql import services
from chunked_graphql.exceptions import ChunkStorageError
from chunked_graphql.failures import INTERNAL_ERROR, NESTED_TOO_DEEPLY
from chunked_graphql.models import ChunkedUpload
from tests.support.graphql_client import CANCEL_UPLOAD, FILE_MAP, UPLOAD_CHUNK, GraphQLClient

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000
OPERATIONS = json.dumps(
    {
        "query": UPLOAD_CHUNK,
        "variables": {"file": None, "contentRange": "bytes 0-2/3", "filename": "a.bin"},
    }
)


def assert_json_400(response: Any, fragment: str) -> None:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    (error,) = response.json()["errors"]
    assert fragment in error["message"], error["message"]


def post_json(client: Any, body: str) -> Any:
    return client.post("/graphql/", data=body, content_type="application/json")


# Nesting ---------------------------------------------------------------------------------------


def test_a_json_body_nested_100000_deep_is_a_json_400(client: Any) -> None:
    assert_json_400(post_json(client, DEEP), NESTED_TOO_DEEPLY)


def test_variables_nested_100000_deep_in_a_json_body_are_a_json_400(client: Any) -> None:
    body = '{"query": "{ __typename }", "variables": {"x": ' + DEEP + "}}"
    assert_json_400(post_json(client, body), NESTED_TOO_DEEPLY)


def test_variables_nested_100000_deep_in_the_url_are_a_json_400(client: Any) -> None:
    response = client.get("/graphql/", {"query": "{ __typename }", "variables": DEEP})
    assert_json_400(response, "Variables are invalid JSON.")


def test_operations_nested_100000_deep_are_a_json_400(client: Any) -> None:
    response = client.post("/graphql/", {"operations": DEEP, "map": "{}"})
    assert_json_400(response, NESTED_TOO_DEEPLY)


def test_a_map_nested_100000_deep_is_a_json_400(api: GraphQLClient) -> None:
    response = api.client.post(
        "/graphql/",
        {"operations": OPERATIONS, "map": DEEP, "0": SimpleUploadedFile("c", b"abc")},
    )
    assert_json_400(response, NESTED_TOO_DEEPLY)
    assert ChunkedUpload.objects.count() == 0


# The JSON types of the parameters --------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "named"),
    [(123, "a number"), (["{ __typename }"], "an array"), ({}, "an object"), (True, "a boolean")],
)
def test_a_query_that_is_not_a_string_is_a_json_400(client: Any, query: Any, named: str) -> None:
    response = post_json(client, json.dumps({"query": query}))
    assert_json_400(response, f"'query' must be a string, not {named}.")


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ("[]", "an array"),
        ([1], "an array"),
        (5, "a number"),
        ('"s"', "a string"),
        ("1", "a number"),
    ],
)
def test_variables_that_are_not_an_object_are_a_json_400(
    client: Any, variables: Any, named: str
) -> None:
    response = post_json(client, json.dumps({"query": "{ __typename }", "variables": variables}))
    assert_json_400(response, f"'variables' must be a JSON object, not {named}.")


@pytest.mark.parametrize("variables", [None, "", {}, "{}", "null"])
def test_no_variables_in_any_spelling_is_accepted(client: Any, variables: Any) -> None:
    response = post_json(client, json.dumps({"query": "{ __typename }", "variables": variables}))
    assert response.json() == {"data": {"__typename": "Query"}}


def test_variables_that_are_not_an_object_in_the_url_are_a_json_400(client: Any) -> None:
    response = client.get("/graphql/", {"query": "{ __typename }", "variables": "[]"})
    assert_json_400(response, "'variables' must be a JSON object, not an array.")


@pytest.mark.parametrize("name", [5, ["A"], {"a": 1}])
def test_an_operation_name_that_is_not_a_string_is_a_json_400(client: Any, name: Any) -> None:
    response = post_json(
        client, json.dumps({"query": "query A { __typename }", "operationName": name})
    )
    assert_json_400(response, "'operationName' must be a string")


@pytest.mark.parametrize("body", ["[]", '[{"query": "{ __typename }"}]', '"query"', "42", "null"])
def test_a_json_body_that_is_not_an_object_is_a_json_400(client: Any, body: str) -> None:
    assert_json_400(post_json(client, body), "not a valid JSON query")


def test_operations_whose_query_is_not_a_string_is_a_json_400(api: GraphQLClient) -> None:
    operations = json.dumps({"query": 123, "variables": {"file": None}})
    response = api.client.post(
        "/graphql/",
        {"operations": operations, "map": FILE_MAP, "0": SimpleUploadedFile("c", b"abc")},
    )
    assert_json_400(response, "'query' must be a string, not a number.")
    assert ChunkedUpload.objects.count() == 0


def test_a_graphql_body_that_is_not_utf8_is_a_json_400(client: Any) -> None:
    response = client.post("/graphql/", data=b"{ \xff }", content_type="application/graphql")
    assert_json_400(response, "The request body is not UTF-8")


def test_a_variable_value_of_the_wrong_type_keeps_graphql_cores_message(
    api: GraphQLClient,
) -> None:
    response = api.post(CANCEL_UPLOAD, {"uploadId": {"not": "an id"}})
    assert_json_400(response, "Variable '$uploadId' got invalid value")


# Unexpected exceptions -------------------------------------------------------------------------


def test_an_unexpected_exception_in_a_resolver_is_logged_and_not_shown(
    api: GraphQLClient, monkeypatch: Any, caplog: Any
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("connection to /srv/secret/db.sqlite3 failed")

    monkeypatch.setattr(services, "get_visible_upload", broken)
    with caplog.at_level(logging.ERROR, logger="chunked_graphql"):
        response = api.post('{ chunkedUpload(id: "x") { id } }')
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"chunkedUpload": None}
    assert [error["message"] for error in body["errors"]] == [INTERNAL_ERROR]
    assert body["errors"][0]["path"] == ["chunkedUpload"]
    assert "secret" not in response.content.decode()
    (record,) = [r for r in caplog.records if r.name == "chunked_graphql"]
    assert record.levelno == logging.ERROR
    assert "chunkedUpload" in record.getMessage()
    assert isinstance(record.exc_info[1], RuntimeError)


def test_a_storage_error_keeps_its_message_and_code(
    api: GraphQLClient, monkeypatch: Any, caplog: Any
) -> None:
    def failing(*args: Any, **kwargs: Any) -> Any:
        raise ChunkStorageError("The storage is unavailable.")

    monkeypatch.setattr(services, "cancel_upload", failing)
    with caplog.at_level(logging.ERROR, logger="chunked_graphql"):
        response = api.post(CANCEL_UPLOAD, {"uploadId": "0" * 32})
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "STORAGE_ERROR"}
    assert error["message"] == "The storage is unavailable."
    assert [r for r in caplog.records if r.name == "chunked_graphql"] == []
