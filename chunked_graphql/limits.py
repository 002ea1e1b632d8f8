"""What one GraphQL request may cost, checked before it costs it (the cache of the documents
that pass is ``documents.py``).

A query text is refused with a ``QueryRefused`` (HTTP 400, ``{"errors": [{"message": ...}]}``,
nothing executed) when it is over one of these limits, each a setting (``None``: no limit):

- ``MAX_QUERY_BYTES``, its UTF-8 length, checked before it is parsed;
- ``MAX_QUERY_TOKENS``, checked while graphql-core parses it (``parse(max_tokens=...)``); a
  document nested too deeply for the parser's recursion is refused as too deep;
- ``MAX_QUERY_FIELDS``, every field selection counted after fragment expansion (so each alias,
  and each spread of a fragment, counts);
- ``MAX_QUERY_DEPTH``, how many fields deep an operation reaches (``{ chunkedUploads { id } }``
  is 2 deep), ``__schema``, ``__type`` and ``__typename`` counted like any field;
- ``MAX_UPLOAD_FIELDS``, the app's upload mutation fields (``uploadChunk``, ``completeUpload``,
  ``cancelUpload``) in one operation, of which one at most may take a ``file``.

``check_document`` measures a document in one pass over its nodes, without recursion: a fragment
is measured once and its measure reused wherever it is spread, and a spread that closes a cycle
counts nothing (graphql-core's ``NoFragmentCyclesRule`` refuses the document afterwards). It runs
before graphql-core's validation, whose cost grows with the fields a document selects.

``introspection_enabled`` and ``graphiql_enabled`` read ``INTROSPECTION`` and ``GRAPHIQL``:
``None`` follows ``settings.DEBUG``. With introspection off, ``validation_rules`` adds
graphql-core's ``NoSchemaIntrospectionCustomRule`` (``__typename`` stays allowed).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    parse,
    specified_rules,
)
from graphql.validation import NoSchemaIntrospectionCustomRule

from .exceptions import RESULT_UNIONS
from .settings import PREFIX, upload_settings

__all__ = [
    "QueryRefused",
    "check_document",
    "graphiql_enabled",
    "introspection_enabled",
    "limit_values",
    "measure",
    "nested_too_deeply",
    "parse_query",
    "validation_rules",
]

LIMITS = (
    "MAX_QUERY_BYTES",
    "MAX_QUERY_TOKENS",
    "MAX_QUERY_DEPTH",
    "MAX_QUERY_FIELDS",
    "MAX_UPLOAD_FIELDS",
)

#: Upload fields of one operation that may take a file: a request streams one file part.
MAX_FILE_FIELDS = 1

# Counts stop growing here: fragments spread within fragments multiply.
_MANY = 10**9


class QueryRefused(GraphQLError):
    """A query over one of the limits; the message names the limit and its setting."""


def _setting(name: str) -> str:
    return upload_settings.source(name) or PREFIX + name


def _over(what: str, count: int, name: str, prefix: str = "The query has") -> QueryRefused:
    limit: int = getattr(upload_settings, name)
    shown = f"more than {_MANY}" if count >= _MANY else str(count)
    allowed = "is" if limit == 1 else "are"
    return QueryRefused(
        f"{prefix} {shown} {what}; at most {limit} {allowed} allowed ({_setting(name)})."
    )


def limit_values() -> tuple[Any, ...]:
    """The limits in force, part of a cached document's key: a document is checked against
    the limits of its time."""
    return (*(getattr(upload_settings, name) for name in LIMITS), introspection_enabled())


def _switch(name: str) -> bool:
    value = getattr(upload_settings, name)
    return bool(settings.DEBUG) if value is None else bool(value)


def introspection_enabled() -> bool:
    """Whether queries may select ``__schema`` and ``__type`` (``INTROSPECTION``)."""
    return _switch("INTROSPECTION")


def graphiql_enabled() -> bool:
    """Whether a browser's GET of the endpoint gets GraphiQL (``GRAPHIQL``)."""
    return _switch("GRAPHIQL")


class IntrospectionOff(NoSchemaIntrospectionCustomRule):
    """graphql-core's rule, its message naming the setting that turned introspection off."""

    def report_error(self, error: GraphQLError) -> None:
        super().report_error(
            GraphQLError(f"{error.message} ({_setting('INTROSPECTION')})", error.nodes)
        )


def validation_rules(rules: Collection[Any] | None) -> tuple[Any, ...]:
    """The view's validation rules (graphql-core's standard ones when it has none), with
    ``IntrospectionOff`` added while introspection is off."""
    chosen = tuple(rules) if rules else tuple(specified_rules)
    return chosen if introspection_enabled() else (*chosen, IntrospectionOff)


# Parsing -----------------------------------------------------------------------------------


def nested_too_deeply() -> QueryRefused:
    depth = upload_settings.MAX_QUERY_DEPTH
    if depth is None:
        return QueryRefused("The query is nested too deeply to be parsed.")
    return QueryRefused(
        f"The query is nested too deeply to be parsed; at most {depth} levels are allowed "
        f"({_setting('MAX_QUERY_DEPTH')})."
    )


def query_bytes(query: str) -> int:
    return len(query.encode("utf-8", "surrogatepass"))


def parse_query(query: str) -> DocumentNode:
    """``query`` parsed, once its size is known to be within ``MAX_QUERY_BYTES``, and with at
    most ``MAX_QUERY_TOKENS`` tokens read; a syntax error is raised as graphql-core's."""
    max_bytes: int | None = upload_settings.MAX_QUERY_BYTES
    # A character takes 1 to 4 bytes: most texts are decided without encoding them.
    if max_bytes is not None and len(query) * 4 > max_bytes:
        size = query_bytes(query)
        if size > max_bytes:
            raise _over("bytes", size, "MAX_QUERY_BYTES", prefix="The query is")
    max_tokens: int | None = upload_settings.MAX_QUERY_TOKENS
    try:
        return parse(query, max_tokens=max_tokens)
    except GraphQLSyntaxError as error:
        if max_tokens is not None and "tokens. Parsing aborted." in error.message:
            raise QueryRefused(
                f"The query has more than {max_tokens} tokens; at most {max_tokens} are "
                f"allowed ({_setting('MAX_QUERY_TOKENS')})."
            ) from None
        # Newer graphql-core releases report deep nesting as a syntax error themselves.
        if "nested too deeply" in error.message:
            raise nested_too_deeply() from None
        raise
    except RecursionError:
        raise nested_too_deeply() from None


# Measuring ---------------------------------------------------------------------------------


@dataclass
class Measure:
    """What a document selects: ``fields`` in all (after fragment expansion), the ``depth``
    of its deepest operation, and, in its operation with the most of them, how many upload
    fields it has (``upload_fields``) and how many of those take a file (``file_fields``)."""

    fields: int = 0
    depth: int = 0
    upload_fields: int = 0
    file_fields: int = 0


@dataclass
class _Walked:
    """One selection set walked without following its spreads."""

    fields: int = 0
    depth: int = 0
    spreads: list[tuple[str, int]] = field(default_factory=list)  # (fragment, depth there)


def _walk(selection_set: SelectionSetNode | None) -> _Walked:
    walked = _Walked()
    stack: list[tuple[SelectionSetNode, int]] = [(selection_set, 0)] if selection_set else []
    while stack:
        current, depth = stack.pop()
        for selection in current.selections:
            if isinstance(selection, FieldNode):
                walked.fields += 1
                walked.depth = max(walked.depth, depth + 1)
                if selection.selection_set is not None:
                    stack.append((selection.selection_set, depth + 1))
            elif isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, depth))
            elif isinstance(selection, FragmentSpreadNode):
                walked.spreads.append((selection.name.value, depth))
    return walked


def _totals(walked: _Walked, measured: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """Fields and depth of a walked selection set, its spreads' measures added; a fragment
    not measured (unknown, or closing a cycle) counts nothing."""
    fields, depth = walked.fields, walked.depth
    for name, at in walked.spreads:
        spread_fields, spread_depth = measured.get(name, (0, 0))
        fields = min(fields + spread_fields, _MANY)
        if spread_depth:
            depth = max(depth, at + spread_depth)
    return fields, depth


def _measure_fragments(walked: dict[str, _Walked]) -> dict[str, tuple[int, int]]:
    """Each fragment's fields and depth, those it spreads measured first (a depth-first walk
    with an explicit stack, so a long chain of fragments cannot exhaust the recursion)."""
    measured: dict[str, tuple[int, int]] = {}
    entered: set[str] = set()
    for root in walked:
        if root in entered:
            continue
        entered.add(root)
        stack: list[tuple[str, Iterator[tuple[str, int]]]] = [(root, iter(walked[root].spreads))]
        while stack:
            name, spreads = stack[-1]
            for spread, _ in spreads:
                if spread in walked and spread not in entered:
                    entered.add(spread)
                    stack.append((spread, iter(walked[spread].spreads)))
                    break
            else:
                stack.pop()
                measured[name] = _totals(walked[name], measured)
    return measured


def _reachable(roots: list[_Walked], walked: dict[str, _Walked]) -> set[str]:
    seen: set[str] = set()
    pending = [name for root in roots for name, _ in root.spreads]
    while pending:
        name = pending.pop()
        if name in walked and name not in seen:
            seen.add(name)
            pending.extend(spread for spread, _ in walked[name].spreads)
    return seen


def _upload_fields(
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    names: frozenset[str],
) -> tuple[int, int]:
    """The distinct response keys of upload fields at the top of ``operation`` (fields of one
    key are executed once), and how many of them take a file."""
    keys: set[str] = set()
    with_file: set[str] = set()
    seen: set[str] = set()
    pending = [operation.selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode) and selection.name.value in names:
                key = selection.alias.value if selection.alias else selection.name.value
                keys.add(key)
                if any(
                    argument.name.value == "file" and not isinstance(argument.value, NullValueNode)
                    for argument in selection.arguments or ()
                ):
                    with_file.add(key)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    seen.add(name)
                    pending.append(fragments[name].selection_set)
    return len(keys), len(with_file)


def upload_field_names(schema: Any) -> frozenset[str]:
    """The mutation fields that answer one of the app's result unions, whatever a project's
    schema calls them."""
    mutation = getattr(schema, "mutation_type", None)
    if mutation is None:
        return frozenset()
    unions = set(RESULT_UNIONS.values())
    return frozenset(
        name
        for name, definition in mutation.fields.items()
        if getattr(get_named_type(definition.type), "name", None) in unions
    )


def measure(document: DocumentNode, upload_names: frozenset[str] = frozenset()) -> Measure:
    """The ``Measure`` of ``document``: linear in its size, whatever its fragments do."""
    fragments: dict[str, FragmentDefinitionNode] = {}
    operations: list[OperationDefinitionNode] = []
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            fragments.setdefault(definition.name.value, definition)
        elif isinstance(definition, OperationDefinitionNode):
            operations.append(definition)
    walked = {name: _walk(fragment.selection_set) for name, fragment in fragments.items()}
    measured = _measure_fragments(walked)
    result = Measure()
    roots = [_walk(operation.selection_set) for operation in operations]
    for operation, root in zip(operations, roots, strict=True):
        fields, depth = _totals(root, measured)
        result.fields = min(result.fields + fields, _MANY)
        result.depth = max(result.depth, depth)
        if operation.operation == OperationType.MUTATION and upload_names:
            uploads, files = _upload_fields(operation, fragments, upload_names)
            result.upload_fields = max(result.upload_fields, uploads)
            result.file_fields = max(result.file_fields, files)
    # Fragments no operation spreads are validated all the same: their fields count once.
    reached = _reachable(roots, walked)
    for name in walked.keys() - reached:
        result.fields = min(result.fields + measured[name][0], _MANY)
    return result


def check_document(schema: Any, document: DocumentNode) -> Measure:
    """Raise ``QueryRefused`` if ``document`` selects more than the limits allow."""
    found = measure(document, upload_field_names(schema))
    max_fields: int | None = upload_settings.MAX_QUERY_FIELDS
    if max_fields is not None and found.fields > max_fields:
        raise _over("fields", found.fields, "MAX_QUERY_FIELDS")
    max_depth: int | None = upload_settings.MAX_QUERY_DEPTH
    if max_depth is not None and found.depth > max_depth:
        raise _over("levels of fields", found.depth, "MAX_QUERY_DEPTH", prefix="The query nests")
    max_uploads: int | None = upload_settings.MAX_UPLOAD_FIELDS
    if max_uploads is not None and found.upload_fields > max_uploads:
        raise _over("upload fields", found.upload_fields, "MAX_UPLOAD_FIELDS")
    if found.file_fields > MAX_FILE_FIELDS:
        raise QueryRefused(
            f"The query has {found.file_fields} upload fields taking a file; at most "
            f"{MAX_FILE_FIELDS} is allowed (one file per request)."
        )
    return found
