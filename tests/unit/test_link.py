"""The benchmark's emulated link (bench/link_emulation.py): a TCP proxy that delays every byte by
25 ms each way and caps each direction at 200 Mbit/s, shared by all its connections.

The proxy runs on an event loop in a thread of the test process (``LinkThread``, the code the
benchmark's proxy process runs); the peers are plain sockets on loopback.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from bench.link_emulation import DELAY_S, MIB, LinkSettings, LinkThread, TokenBucket, bytes_per_s

RATE = bytes_per_s(200)  # 25 MB/s


class Peer:
    """A server on loopback: ``echo`` sends back what it reads; otherwise it only reads. Each
    connection's bytes are hashed and counted, and the time its last byte arrived kept."""

    def __init__(self, echo: bool) -> None:
        self.echo = echo
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received: list[tuple[int, str, float]] = []  # size, sha256, time of the last byte
        self.done = threading.Condition()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        digest, size, last = hashlib.sha256(), 0, 0.0
        with conn:
            while block := conn.recv(MIB):
                last = time.perf_counter()
                digest.update(block)
                size += len(block)
                if self.echo:
                    conn.sendall(block)
        with self.done:
            self.received.append((size, digest.hexdigest(), last))
            self.done.notify_all()

    def wait_for(self, connections: int, timeout: float = 30) -> list[tuple[int, str, float]]:
        with self.done:
            assert self.done.wait_for(lambda: len(self.received) >= connections, timeout)
            return list(self.received)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def sink() -> Iterator[Peer]:
    peer = Peer(echo=False)
    yield peer
    peer.close()


@pytest.fixture
def echo() -> Iterator[Peer]:
    peer = Peer(echo=True)
    yield peer
    peer.close()


def send_all(port: int, data: bytes, piece: int = 256 * 1024) -> None:
    """Send ``data`` in pieces of varying size (so segments of every size cross the link), then
    end the connection's sending side."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        offset, step = 0, 1
        while offset < len(data):
            size = min(piece, step)
            sock.sendall(data[offset : offset + size])
            offset += size
            step = step * 7 + 13
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(1) == b""  # the far side closed after reading everything


def exchanges(port: int, count: int) -> list[float]:
    """The durations of ``count`` small requests and their answers on one connection."""
    durations = []
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(count):
            started = time.perf_counter()
            sock.sendall(b"ping" * 25)
            answer = b""
            while len(answer) < 100:
                answer += sock.recv(100)
            durations.append(time.perf_counter() - started)
            assert answer == b"ping" * 25
    return durations


def test_a_small_request_and_its_answer_take_the_delay_each_way(echo: Peer) -> None:
    with LinkThread(echo.port) as link:
        durations = exchanges(link.port, 3)
    assert min(durations) >= 2 * DELAY_S


def test_with_the_handshake_a_new_connection_waits_one_more_round_trip(echo: Peer) -> None:
    with LinkThread(echo.port, LinkSettings(handshake=True)) as link:
        first, *later = exchanges(link.port, 3)
    assert first >= 4 * DELAY_S
    assert min(later) >= 2 * DELAY_S


def test_a_transfer_takes_at_least_its_size_over_the_rate_and_arrives_intact(sink: Peer) -> None:
    data = os.urandom(10 * 1000 * 1000)
    with LinkThread(sink.port) as link:
        started = time.perf_counter()
        send_all(link.port, data)
        [(size, sha256, last)] = sink.wait_for(1)
    assert (size, sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert last - started >= len(data) / RATE  # 0.4 s at 200 Mbit/s


def test_connections_share_the_rate_of_the_link(sink: Peer) -> None:
    data = [os.urandom(5 * 1000 * 1000) for _ in range(2)]
    with LinkThread(sink.port) as link:
        started = time.perf_counter()
        senders = [threading.Thread(target=send_all, args=(link.port, d)) for d in data]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        received = sink.wait_for(2)
    assert sorted((size, sha256) for size, sha256, _ in received) == sorted(
        (len(d), hashlib.sha256(d).hexdigest()) for d in data
    )
    # 10 MB in all through one 25 MB/s link, not 5 MB through each of two.
    assert max(last for _, _, last in received) - started >= sum(map(len, data)) / RATE


def test_answers_come_back_intact_through_the_other_direction(echo: Peer) -> None:
    data = os.urandom(3 * MIB + 12345)
    with LinkThread(echo.port) as link, socket.create_connection((link.host, link.port)) as sock:
        received = bytearray()

        def read() -> None:
            while block := sock.recv(MIB):
                received.extend(block)

        reader = threading.Thread(target=read)
        reader.start()
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        reader.join(30)
    assert bytes(received) == data


def test_a_short_queue_holds_back_the_sender_without_losing_bytes(sink: Peer) -> None:
    data = os.urandom(2 * MIB)
    settings = LinkSettings(queue=64 * 1024)
    with LinkThread(sink.port, settings) as link:
        send_all(link.port, data)
        [(size, sha256, _)] = sink.wait_for(1)
    assert (size, sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_the_bucket_lets_a_burst_through_then_spaces_bytes_at_the_rate() -> None:
    bucket = TokenBucket(rate=1000.0, burst=100.0, now=0.0)
    assert bucket.reserve(100, 0.0) == 0.0  # the full bucket
    assert bucket.reserve(100, 0.0) == pytest.approx(0.1)  # then one byte per millisecond
    assert bucket.reserve(50, 0.05) == pytest.approx(0.15)  # queued behind the first 200
    assert bucket.reserve(10, 10.0) == 10.0  # idle: full again, but never more than the burst
    assert bucket.reserve(100, 10.0) == pytest.approx(10.01)


def test_the_bucket_never_beats_the_rate_over_a_long_run() -> None:
    bucket = TokenBucket(rate=1000.0, burst=100.0, now=0.0)
    leaves = [bucket.reserve(7, 0.001 * i) for i in range(10_000)]  # offered at 7000 B/s
    assert leaves == sorted(leaves)
    assert leaves[-1] >= (7 * 10_000 - 100) / 1000.0
