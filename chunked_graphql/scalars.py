"""GraphQL scalars for uploads."""

from __future__ import annotations

from typing import Any

import graphene

from .sources import ChunkSource, as_source


class Upload(graphene.Scalar):
    """A file part of a GraphQL multipart request (the GraphQL multipart request spec).
    Any other value is treated as no file at all."""

    # Unlike graphene-file-upload's scalar, which passes any value through, only a real file
    # part is accepted: a string, a number or an inline literal reaches the resolvers as None,
    # so it is answered as a missing chunk instead of crashing the server.

    @staticmethod
    def serialize(value: Any) -> None:
        # Uploads are input only; there is nothing meaningful to send back.
        return None

    @staticmethod
    def parse_value(value: Any) -> ChunkSource | None:
        return as_source(value)

    @staticmethod
    def parse_literal(node: Any, _variables: Any = None) -> None:
        return None
