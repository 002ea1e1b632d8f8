"""The per-process cache of parsed documents: clients send the same few operations over and
over (one per chunk), and parsing costs more than executing them. Bounded in number and in
memory, so distinct large queries cannot make a worker grow (``views.py`` keeps one).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from graphql import DocumentNode

#: Bytes a parsed document holds per token: the token itself, kept in the document's token
#: list, and its share of the nodes (350 to 560 measured with tracemalloc, graphql-core 3.2).
TOKEN_COST = 600


def token_count(document: DocumentNode) -> int:
    """The tokens ``document`` keeps, comments included."""
    count = 0
    token = document.loc.start_token if document.loc is not None else None
    while token is not None:
        count += 1
        token = token.next
    return count


def document_cost(query: str, document: DocumentNode) -> int:
    """An estimate of the memory ``document`` holds, in bytes: its text and its tokens."""
    return len(query) + TOKEN_COST * token_count(document)


class DocumentCache:
    """Parsed documents by key, the least recently used dropped first, holding at most
    ``max_entries`` documents and ``max_cost`` (an estimate in bytes, ``document_cost``) of
    them; a document costing more than ``max_cost // 8`` is not kept at all."""

    def __init__(self, max_entries: int = 256, max_cost: int = 8 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_cost = max_cost
        self.cost = 0
        self._entries: OrderedDict[Hashable, tuple[DocumentNode, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> DocumentNode | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: Hashable, document: DocumentNode, cost: int) -> bool:
        """Keep ``document`` under ``key``; whether it was kept."""
        if cost > self.max_cost // 8 or self.max_entries < 1:
            return False
        self.discard(key)
        while self._entries and (
            len(self._entries) >= self.max_entries or self.cost + cost > self.max_cost
        ):
            _, (_, dropped) = self._entries.popitem(last=False)
            self.cost -= dropped
        self._entries[key] = (document, cost)
        self.cost += cost
        return True

    def discard(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.cost -= entry[1]

    def clear(self) -> None:
        self._entries.clear()
        self.cost = 0
