"""Writing by range and locking by range: what parallel chunks need of a chunk store, beside the
serial ``write`` (tests/unit/test_storage.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage, InMemoryStorage

from chunked_graphql.exceptions import ChunkStorageError
from chunked_graphql.stores import FileSystemChunkStore, RewritingChunkStore, S3ChunkStore


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FileSystemChunkStore:
    monkeypatch.setattr(FileSystemChunkStore, "lock_timeout", 0.05)
    return FileSystemChunkStore(FileSystemStorage(location=str(tmp_path)))


def read(store: FileSystemChunkStore, name: str) -> bytes:
    with store.open(name) as stored:
        return stored.read()


def test_the_filesystem_and_s3_stores_write_by_range() -> None:
    assert FileSystemChunkStore.random_access
    assert S3ChunkStore.random_access  # staged objects, then multipart parts: tests/e2e
    assert not RewritingChunkStore.random_access
    with pytest.raises(NotImplementedError):
        RewritingChunkStore(InMemoryStorage()).write_range("a.part", 0, [b"x"])


def test_create_makes_an_empty_file_in_its_directory(store: FileSystemChunkStore) -> None:
    store.create("d/e/a.part")

    assert read(store, "d/e/a.part") == b""


def test_ranges_written_in_any_order_make_the_file(store: FileSystemChunkStore) -> None:
    store.create("a.part")

    store.write_range("a.part", 6, [b"ghi"])
    store.write_range("a.part", 0, [b"abc"])
    store.write_range("a.part", 3, [b"def"])

    assert read(store, "a.part") == b"abcdefghi"


def test_a_range_write_leaves_the_bytes_beyond_it(store: FileSystemChunkStore) -> None:
    store.create("a.part")
    store.write_range("a.part", 0, [b"0123456789"])

    store.write_range("a.part", 2, [b"ab"])

    assert read(store, "a.part") == b"01ab456789"


def test_a_range_write_never_creates_the_file(store: FileSystemChunkStore) -> None:
    with pytest.raises(FileNotFoundError):
        store.write_range("cancelled.part", 0, [b"x"])

    assert not store.storage.exists("cancelled.part")


def test_abandoning_the_last_range_leaves_a_later_ranges_bytes(
    store: FileSystemChunkStore,
) -> None:
    store.create("a.part")
    store.write_range("a.part", 0, [b"abc"])
    store.write_range("a.part", 6, [b"gh"])  # died before its last byte
    store.write_range("a.part", 9, [b"jk"])  # a later range, written meanwhile

    store.abandon_range("a.part", 6, 8)

    assert read(store, "a.part")[9:] == b"jk"


def test_abandoning_a_range_inside_the_file_keeps_the_others(store: FileSystemChunkStore) -> None:
    store.create("a.part")
    store.write_range("a.part", 6, [b"ghi"])
    store.write_range("a.part", 0, [b"ab"])  # died before its last byte

    store.abandon_range("a.part", 0, 2)

    assert read(store, "a.part")[6:] == b"ghi"


def test_serial_abandon_drops_everything_from_the_offset(store: FileSystemChunkStore) -> None:
    store.write("a.part", 0, [b"0123456789"])

    store.abandon("a.part", 4)

    assert read(store, "a.part") == b"0123"


def test_locks_of_different_ranges_do_not_wait_for_each_other(
    store: FileSystemChunkStore,
) -> None:
    store.create("a.part")

    with store.lock("a.part", 0, 9), store.lock("a.part", 10, 19):
        pass


@pytest.mark.parametrize(
    ("held", "wanted"),
    [
        ((0, 9), (0, 9)),  # the same range: a retry while the first copy still arrives
        ((0, 9), (5, 14)),
        ((10, None), (20, 29)),  # a serial write holds everything from its offset on
        ((0, None), (5, None)),
        ((30, 39), (0, None)),  # a cancel takes the whole file
    ],
)
def test_overlapping_locks_exclude_each_other(
    store: FileSystemChunkStore, held: tuple[int, int | None], wanted: tuple[int, int | None]
) -> None:
    store.create("a.part")

    with store.lock("a.part", *held), pytest.raises(ChunkStorageError):  # noqa: SIM117
        with store.lock("a.part", *wanted):
            pass


def test_a_lock_is_free_again_once_released(store: FileSystemChunkStore) -> None:
    store.create("a.part")
    with store.lock("a.part"):
        pass

    with store.lock("a.part"):
        pass


def test_a_lock_held_by_another_thread_excludes_this_one(store: FileSystemChunkStore) -> None:
    """gthread workers run requests as threads of one process: the locks must hold between
    them, as they hold between processes."""
    store.create("a.part")
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.lock("a.part", 0, 9):
            taken.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert taken.wait(5)
        with pytest.raises(ChunkStorageError), store.lock("a.part", 0, 9):
            pass
    finally:
        release.set()
        holder.join()


def test_locking_a_missing_file_gives_no_lock_and_no_error(store: FileSystemChunkStore) -> None:
    with store.lock("cancelled.part"):
        pass

    assert not store.storage.exists("cancelled.part")
