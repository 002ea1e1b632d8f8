"""The one table of errors (chunked_graphql.exceptions) and everything made from it agree: the
error codes, the tree in the module's docstring, the GraphQL types and unions, and the client's
selections."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLUnionType

from chunked_graphql import exceptions
from chunked_graphql.client import operations
from example_site.schema import schema

TYPED = exceptions.typed_errors()
GRAPHQL = schema.graphql_schema


def test_every_code_has_exactly_one_typed_error() -> None:
    codes = [error.code for error in TYPED]

    assert sorted(code.name for code in codes) == sorted(code.name for code in exceptions.ErrorCode)
    assert len(set(codes)) == len(codes)


@pytest.mark.parametrize("error", TYPED, ids=lambda error: error.__name__)
def test_every_typed_error_has_a_place_in_a_result_union(
    error: type[exceptions.ChunkedUploadError],
) -> None:
    assert error.returned_by
    assert set(error.returned_by) <= set(exceptions.RESULT_UNIONS)


@pytest.mark.parametrize("error", TYPED, ids=lambda error: error.__name__)
def test_every_typed_error_has_its_graphql_type(
    error: type[exceptions.ChunkedUploadError],
) -> None:
    graphql_type = GRAPHQL.get_type(error.__name__)

    assert isinstance(graphql_type, GraphQLObjectType)
    assert [interface.name for interface in graphql_type.interfaces] == ["UploadError"]
    extra = set(graphql_type.fields) - {"code", "message", "httpStatus"}
    assert extra == {operations._camel(name) for name in error.fields}
    for name, kind in error.fields.items():
        field_type = graphql_type.fields[operations._camel(name)].type
        assert isinstance(field_type, GraphQLNonNull)
        assert str(field_type.of_type) == kind


@pytest.mark.parametrize("operation", sorted(exceptions.RESULT_UNIONS))
def test_each_result_union_holds_exactly_the_errors_of_its_mutation(operation: str) -> None:
    union = GRAPHQL.get_type(exceptions.RESULT_UNIONS[operation])
    expected = {error.__name__ for error in TYPED if operation in error.returned_by}

    assert isinstance(union, GraphQLUnionType)
    members = {member.name for member in union.types}
    assert members - {"ChunkedUpload", "CancelledUpload"} == expected


def test_the_tree_in_the_docstring_lists_every_typed_error_with_code_and_status() -> None:
    doc = exceptions.__doc__ or ""
    rows = {
        match["name"]: (match["code"], int(match["status"]))
        for match in re.finditer(
            r"[├└]── (?P<name>\w+)\s+(?P<code>[A-Z_]+)\s+(?P<status>\d{3})", doc
        )
    }

    assert rows == {error.__name__: (error.code.value, error.http_status) for error in TYPED}


def test_the_tree_in_the_docstring_names_every_exception_of_the_module() -> None:
    doc = exceptions.__doc__ or ""
    named = set(re.findall(r"(?:^|[├└]── )\s*(\w+Error\w*|\w+)\s", doc, re.MULTILINE))
    defined = {
        name
        for name, value in vars(exceptions).items()
        if isinstance(value, type) and issubclass(value, Exception)
    }

    assert defined <= named


@pytest.mark.parametrize(
    "error",
    [exceptions.ChunkedUploadError, exceptions.RequestBodyError, exceptions.ChunkStorageError],
)
def test_every_exception_of_the_app_has_one_root(error: type[Exception]) -> None:
    assert issubclass(error, exceptions.ChunkedGraphQLError)


def test_a_broken_chunk_is_a_broken_request_body() -> None:
    assert issubclass(exceptions.ChunkReadError, exceptions.RequestBodyError)


@pytest.mark.parametrize(
    ("query", "operation"),
    [
        (operations.UPLOAD_CHUNK, exceptions.UPLOAD_CHUNK),
        (operations.COMPLETE_UPLOAD, exceptions.COMPLETE_UPLOAD),
        (operations.CANCEL_UPLOAD, exceptions.CANCEL_UPLOAD),
    ],
)
def test_the_client_selects_every_extra_field_its_mutations_can_answer(
    query: str, operation: str
) -> None:
    from graphql import parse, validate

    assert validate(GRAPHQL, parse(query)) == []
    for error in TYPED:
        if operation in error.returned_by:
            for name in error.fields:
                assert re.search(
                    rf"on {error.__name__} {{[^}}]*\b{operations._camel(name)}\b", query
                )


def test_the_docs_error_table_is_the_exception_table() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "errors.md").read_text()
    rows = [
        [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        for line in page.splitlines()
        if re.match(r"\| `\w+` \| `[A-Z_]+` \|", line)
    ]
    expected = [
        [
            error.__name__,
            error.code.value,
            str(error.http_status),
            ", ".join(f"`{operations._camel(name)}`" for name in error.fields).strip("`"),
            ", ".join(f"`{operation}`" for operation in error.returned_by).strip("`"),
        ]
        for error in TYPED
    ]

    assert rows == expected
