"""Byte ranges of a parallel upload (chunked_graphql.ranges): adding, coalescing, the gap-free
prefix and what is missing."""

import pytest

from chunked_graphql import ranges


def test_a_range_added_to_none_is_the_only_one() -> None:
    assert ranges.add(None, 5, 9) == [[5, 9]]


@pytest.mark.parametrize(
    "existing, added, expected",
    [
        ([[0, 4]], (5, 9), [[0, 9]]),  # touching on the right
        ([[10, 19]], (5, 9), [[5, 19]]),  # touching on the left
        ([[0, 4], [10, 14]], (5, 9), [[0, 14]]),  # filling the gap between two
        ([[0, 4], [20, 24]], (10, 14), [[0, 4], [10, 14], [20, 24]]),  # in a gap, apart
        ([[10, 14]], (0, 4), [[0, 4], [10, 14]]),  # before all
        ([[0, 4]], (10, 14), [[0, 4], [10, 14]]),  # after all
        ([[0, 9]], (3, 5), [[0, 9]]),  # inside one
    ],
)
def test_added_ranges_stay_ascending_and_coalesced(existing, added, expected) -> None:
    assert ranges.add(existing, *added) == expected


def test_adding_does_not_change_the_list_given() -> None:
    existing = [[0, 4]]
    ranges.add(existing, 5, 9)
    assert existing == [[0, 4]]


def test_the_prefix_is_the_first_range_when_it_starts_at_zero() -> None:
    assert (ranges.prefix([[0, 9], [20, 29]]), ranges.prefix([[5, 9]]), ranges.prefix([])) == (
        10,
        0,
        0,
    )


def test_missing_ranges_are_the_gaps_up_to_the_total() -> None:
    assert ranges.missing([[5, 9], [20, 29]], 40) == [(0, 4), (10, 19), (30, 39)]


def test_nothing_is_missing_when_every_byte_is_stored() -> None:
    assert ranges.missing([[0, 39]], 40) == []


def test_covers_needs_every_byte_and_overlaps_any() -> None:
    stored = [[0, 9]]
    assert ranges.covers(stored, 0, 9) and not ranges.covers(stored, 5, 14)
    assert ranges.overlaps(stored, 5, 14) and not ranges.overlaps(stored, 10, 14)
