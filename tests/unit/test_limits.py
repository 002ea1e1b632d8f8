"""The request limits of chunked_graphql.limits, in process: each at its edge (at the limit
passes, one over is refused naming its setting), the measure of fragments (cycles, long chains,
spreads that multiply), the introspection and GraphiQL switches, and the document cache's
accounting. Over HTTP: tests/api/test_limits.py and tests/e2e/test_limits.py."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import get_introspection_query, parse, specified_rules

from chunked_graphql import documents, limits
from chunked_graphql.documents import DocumentCache, document_cost, token_count
from chunked_graphql.limits import (
    IntrospectionOff,
    QueryRefused,
    check_document,
    measure,
    parse_query,
    upload_field_names,
)
from chunked_graphql.settings import DEFAULTS
from example_site.schema import schema

SCHEMA = schema.graphql_schema
UPLOADS = upload_field_names(SCHEMA)


def aliases(count: int, field: str = "__typename") -> str:
    return "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }"


def refused(query: str) -> str:
    with pytest.raises(QueryRefused) as caught:
        check_document(SCHEMA, parse_query(query))
    return caught.value.message


def nested(depth: int) -> str:
    """A query ``depth`` fields deep, on an introspection type that nests without end."""
    inner = "name"
    for _ in range(depth - 3):
        inner = f"ofType {{ {inner} }}"
    return f'{{ __type(name: "ID") {{ ofType {{ {inner} }} }} }}'


# MAX_QUERY_BYTES -------------------------------------------------------------------------------


def test_a_query_of_exactly_max_query_bytes_is_parsed(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_QUERY_BYTES = 20
    assert parse_query("{ __typename }".ljust(20)).definitions


def test_a_query_one_byte_over_max_query_bytes_is_refused_naming_the_setting(
    settings: Any,
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_QUERY_BYTES = 20
    with pytest.raises(QueryRefused) as caught:
        parse_query("{ __typename }".ljust(21))
    assert caught.value.message == (
        "The query is 21 bytes; at most 20 are allowed (CHUNKED_GRAPHQL_MAX_QUERY_BYTES)."
    )


def test_max_query_bytes_counts_utf8_bytes_not_characters(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_QUERY_BYTES = 20
    query = "{ __typename } #" + "é" * 3  # 16 + 6 bytes, 19 characters
    with pytest.raises(QueryRefused, match="22 bytes"):
        parse_query(query)


def test_a_query_with_a_lone_surrogate_is_measured_not_crashed_on(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_QUERY_BYTES = 10
    with pytest.raises(QueryRefused, match="MAX_QUERY_BYTES"):
        parse_query("{ __typename } # \ud800")


# MAX_QUERY_TOKENS ------------------------------------------------------------------------------


def test_a_query_of_exactly_max_query_tokens_is_parsed(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_QUERY_TOKENS = 5
    assert parse_query("{ a b c }").definitions  # {, a, b, c, }


def test_a_query_one_token_over_max_query_tokens_is_refused_naming_the_setting(
    settings: Any,
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_QUERY_TOKENS = 4
    with pytest.raises(QueryRefused) as caught:
        parse_query("{ a b c }")
    assert caught.value.message == (
        "The query has more than 4 tokens; at most 4 are allowed "
        "(CHUNKED_GRAPHQL_MAX_QUERY_TOKENS)."
    )


def test_a_syntax_error_is_still_graphql_cores(settings: Any) -> None:
    with pytest.raises(Exception, match="Syntax Error") as caught:
        parse_query("{ a ")
    assert not isinstance(caught.value, QueryRefused)


def test_a_query_nested_beyond_the_parsers_recursion_is_refused_as_too_deep(
    settings: Any,
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_QUERY_TOKENS = None
    with pytest.raises(QueryRefused) as caught:
        parse_query("{ a" * 5_000 + " }" * 5_000)
    assert "nested too deeply" in caught.value.message
    assert "CHUNKED_GRAPHQL_MAX_QUERY_DEPTH" in caught.value.message


# MAX_QUERY_FIELDS ------------------------------------------------------------------------------


def test_exactly_max_query_fields_aliased_fields_pass(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_QUERY_FIELDS = 50
    assert check_document(SCHEMA, parse_query(aliases(50))).fields == 50


def test_one_field_over_max_query_fields_is_refused_naming_the_setting(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_QUERY_FIELDS = 50
    assert refused(aliases(51)) == (
        "The query has 51 fields; at most 50 are allowed (CHUNKED_GRAPHQL_MAX_QUERY_FIELDS)."
    )


def test_fields_count_each_spread_of_a_fragment() -> None:
    document = parse("{ ...F ...F ... on Query { ...F } } fragment F on Query { a b { c } }")
    assert measure(document).fields == 9


def test_fields_of_fragments_no_operation_spreads_count_once() -> None:
    document = parse("{ a } fragment F on Query { b c } fragment G on Query { ...F d }")
    assert measure(document).fields == 1 + 2 + 3


def test_fragments_that_multiply_are_counted_without_expanding_them() -> None:
    levels = 200
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    document = parse(f"{{ ...F0 }} {fragments} fragment F{levels} on Query {{ a }}")
    assert measure(document).fields == 10**9  # 2**200, stopped at the cap


def test_a_refusal_of_multiplying_fragments_says_more_than_the_cap(settings: Any) -> None:
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
    message = refused(f"{{ ...F0 }} {fragments} fragment F40 on Query {{ __typename }}")
    assert message.startswith("The query has more than 1000000000 fields; at most 1000")


# MAX_QUERY_DEPTH -------------------------------------------------------------------------------


def test_a_query_exactly_max_query_depth_deep_passes(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_QUERY_DEPTH = 6
    assert check_document(SCHEMA, parse_query(nested(6))).depth == 6


def test_a_query_one_level_over_max_query_depth_is_refused_naming_the_setting(
    settings: Any,
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_QUERY_DEPTH = 6
    assert refused(nested(7)) == (
        "The query nests 7 levels of fields; at most 6 are allowed "
        "(CHUNKED_GRAPHQL_MAX_QUERY_DEPTH)."
    )


def test_depth_counts_introspection_fields_like_any_other() -> None:
    # graphene's depth_limit_validator skips fields starting with "__": this one is 4 deep.
    assert measure(parse("{ __schema { types { fields { name } } } }")).depth == 4


def test_depth_follows_fragments_and_inline_fragments() -> None:
    document = parse(
        "{ a { ...F } } fragment F on T { b { ... on T { c { ...G } } } } fragment G on T { d }"
    )
    assert measure(document).depth == 4


def test_cyclic_fragments_are_measured_without_recursing_or_raising() -> None:
    document = parse("{ ...A } fragment A on Query { a { ...B } } fragment B on Query { ...A b }")
    found = measure(document)
    assert (found.fields, found.depth) == (2, 2)


def test_a_fragment_spreading_itself_is_measured() -> None:
    assert measure(parse("{ ...A } fragment A on Query { a { ...A } }")).depth == 1


def test_a_chain_of_fragments_longer_than_the_recursion_limit_is_measured() -> None:
    count = 5_000
    chain = " ".join(f"fragment F{i} on T {{ f{i} {{ ...F{i + 1} }} }}" for i in range(count))
    found = measure(parse(f"{{ ...F0 }} {chain} fragment F{count} on T {{ end }}"))
    assert (found.fields, found.depth) == (count + 1, count + 1)


def test_unknown_fragments_count_nothing() -> None:
    assert measure(parse("{ a ...Missing }")).fields == 1


def test_graphql_cores_full_introspection_query_fits_the_default_limits() -> None:
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    found = check_document(SCHEMA, parse_query(query))
    assert found.depth <= DEFAULTS["MAX_QUERY_DEPTH"] - 2  # room for a deeper TypeRef
    assert found.fields <= DEFAULTS["MAX_QUERY_FIELDS"] // 4
    assert len(query.encode()) <= DEFAULTS["MAX_QUERY_BYTES"] // 8


# MAX_UPLOAD_FIELDS -----------------------------------------------------------------------------


def cancels(count: int) -> str:
    return (
        "mutation { "
        + " ".join(f'c{i}: cancelUpload(uploadId: "{i}") {{ __typename }}' for i in range(count))
        + " }"
    )


def test_the_apps_upload_fields_are_found_in_the_projects_schema() -> None:
    assert {"createUpload", "uploadChunk", "completeUpload", "cancelUpload"} == UPLOADS


def test_exactly_max_upload_fields_pass(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_MAX_UPLOAD_FIELDS = 3
    assert check_document(SCHEMA, parse_query(cancels(3))).upload_fields == 3


def test_one_upload_field_over_max_upload_fields_is_refused_naming_the_setting(
    settings: Any,
) -> None:
    settings.CHUNKED_GRAPHQL_MAX_UPLOAD_FIELDS = 3
    assert refused(cancels(4)) == (
        "The query has 4 upload fields; at most 3 are allowed (CHUNKED_GRAPHQL_MAX_UPLOAD_FIELDS)."
    )


def test_upload_fields_through_fragments_count_by_response_key() -> None:
    # Both spreads select the same key: graphql-core executes it once.
    document = parse(
        'mutation { ...M ...M ... on Mutation { x: cancelUpload(uploadId: "2") { __typename } } }'
        ' fragment M on Mutation { cancelUpload(uploadId: "1") { __typename } }'
    )
    assert measure(document, UPLOADS).upload_fields == 2


def test_upload_fields_of_queries_and_other_fields_do_not_count() -> None:
    document = parse('{ cancelUpload { id } } mutation { __typename other(file: "x") { id } }')
    assert measure(document, UPLOADS).upload_fields == 0


def test_two_upload_fields_taking_a_file_are_refused() -> None:
    message = refused(
        "mutation($a: Upload, $b: Upload) {"
        " x: uploadChunk(file: $a) { __typename } y: completeUpload(file: $b) { __typename } }"
    )
    assert message == (
        "The query has 2 upload fields taking a file; at most 1 is allowed (one file per request)."
    )


def test_an_upload_field_with_a_null_file_takes_no_file() -> None:
    document = parse(
        "mutation($a: Upload) { x: uploadChunk(file: $a) { __typename }"
        " y: uploadChunk(file: null) { __typename } }"
    )
    assert measure(document, UPLOADS).file_fields == 1


# Settings of None ------------------------------------------------------------------------------


def test_limits_set_to_none_allow_anything(settings: Any) -> None:
    for name in limits.LIMITS:
        setattr(settings, f"CHUNKED_GRAPHQL_{name}", None)
    check_document(SCHEMA, parse_query(aliases(5_000) + " " * 100_000))


# Introspection and GraphiQL --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("debug", "setting", "expected"),
    [
        (False, None, False),
        (True, None, True),
        (True, False, False),
        (False, True, True),
    ],
)
def test_switches_follow_debug_unless_set(
    settings: Any, debug: bool, setting: bool | None, expected: bool
) -> None:
    settings.DEBUG = debug
    settings.CHUNKED_GRAPHQL_INTROSPECTION = setting
    settings.CHUNKED_GRAPHQL_GRAPHIQL = setting
    assert limits.introspection_enabled() is expected
    assert limits.graphiql_enabled() is expected


def test_introspection_off_adds_graphql_cores_rule_to_the_standard_ones(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_INTROSPECTION = False
    assert limits.validation_rules(None) == (*specified_rules, IntrospectionOff)


def test_introspection_on_keeps_the_views_own_rules(settings: Any) -> None:
    settings.CHUNKED_GRAPHQL_INTROSPECTION = True
    assert limits.validation_rules([IntrospectionOff]) == (IntrospectionOff,)


# The document cache ----------------------------------------------------------------------------


def doc(text: str = "{ a }") -> Any:
    return parse(text)


def test_cache_returns_what_it_keeps() -> None:
    cache = DocumentCache(max_entries=4, max_cost=800)
    document = doc()
    assert cache.put("k", document, 100)
    assert cache.get("k") is document
    assert (len(cache), cache.cost) == (1, 100)


def test_cache_drops_the_least_recently_used_when_full_by_cost() -> None:
    cache = DocumentCache(max_entries=10, max_cost=800)
    for key in "abcdefgh":
        cache.put(key, doc(), 100)
    cache.get("a")  # now the most recently used
    cache.put("i", doc(), 100)
    assert cache.get("b") is None
    assert cache.get("a") is not None
    assert (len(cache), cache.cost) == (8, 800)


def test_cache_drops_the_least_recently_used_when_full_by_count() -> None:
    cache = DocumentCache(max_entries=2, max_cost=8_000)
    for key in "abc":
        cache.put(key, doc(), 10)
    assert [cache.get(key) is not None for key in "abc"] == [False, True, True]
    assert cache.cost == 20


def test_cache_does_not_keep_a_document_over_an_eighth_of_its_budget() -> None:
    cache = DocumentCache(max_entries=10, max_cost=800)
    assert cache.put("small", doc(), 100)
    assert not cache.put("big", doc(), 101)
    assert cache.get("big") is None
    assert (len(cache), cache.cost) == (1, 100)


def test_cache_keeping_a_key_again_replaces_its_cost() -> None:
    cache = DocumentCache(max_entries=10, max_cost=800)
    cache.put("k", doc(), 100)
    cache.put("k", doc(), 50)
    assert (len(cache), cache.cost) == (1, 50)


def test_document_cost_counts_its_text_and_every_token_it_keeps() -> None:
    query = "{ a b } # note"
    document = parse(query)
    assert token_count(document) == 7  # <SOF> { a b } #note <EOF>
    assert document_cost(query, document) == len(query) + documents.TOKEN_COST * 7
