"""The emulated link itself, on an asyncio event loop: a token bucket per direction shared by
every connection, the delay, the bounded queues per connection, and the proxy that joins each
client's connection to its own connection to the target.

``bench/link.py`` describes what it emulates (and what not) and runs it in a process of its own;
``LinkThread`` runs it in a thread of this process instead, for tests.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB
DELAY_S = 0.025
RATE_MBIT = 200.0
BURST = 256 * KIB
QUEUE = 4 * MIB


def bytes_per_s(mbit: float) -> float:
    return mbit * 1e6 / 8


class TokenBucket:
    """One direction of the link: ``rate`` bytes per second, ``burst`` bytes of depth.

    ``reserve(n, now)`` takes ``n`` bytes offered at ``now`` and returns when they have left
    the bucket. The bucket may go into debt (a segment larger than what is left waits for the
    missing tokens), so times are reserved in the order bytes arrive, never in the past, and
    never decrease: bytes are written out in the order they were read, whatever connection they
    belong to (one FIFO queue, as at a real link's bottleneck).
    """

    def __init__(self, rate: float, burst: float, now: float) -> None:
        if rate <= 0 or burst < 0:
            raise ValueError("the rate must be positive and the burst not negative")
        self.rate = rate
        self.burst = burst
        self._tokens = burst  # negative: debt, paid back at ``rate``
        self._at = now

    def reserve(self, size: int, now: float) -> float:
        if now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
        self._tokens -= size
        return self._at + max(0.0, -self._tokens) / self.rate


@dataclass(frozen=True)
class LinkSettings:
    delay_s: float = DELAY_S
    rate: float = bytes_per_s(RATE_MBIT)  # bytes per second, per direction
    burst: int = BURST
    queue: int = QUEUE  # bytes held per connection and direction before reading pauses
    # A new connection's first bytes leave one round trip after it was accepted, as TCP's
    # handshake (SYN, SYN-ACK) takes one on a real link before the client can send.
    handshake: bool = False


class _Pipe:
    """The bytes of one connection in one direction: read from ``source``, written to ``sink``
    once the link delivers them."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, bucket: TokenBucket, settings: LinkSettings
    ) -> None:
        self.loop = loop
        self.bucket = bucket
        self.settings = settings
        self.queue: collections.deque[tuple[float, bytes]] = collections.deque()
        self.queued = 0
        self.not_before = 0.0  # no byte arrives before this (the handshake's round trip)
        self.timer: asyncio.TimerHandle | None = None
        self.source: asyncio.Transport | None = None
        self.sink: asyncio.Transport | None = None
        self.paused = False
        self.ended = False  # the source sent EOF or went away; passed on once drained
        self.drained = False  # ended, and everything delivered
        self.on_drained: Callable[[], None] = lambda: None

    def feed(self, data: bytes) -> None:
        due = self.bucket.reserve(len(data), self.loop.time()) + self.settings.delay_s
        due = max(due, self.not_before)
        self.queue.append((due, data))
        self.queued += len(data)
        if self.timer is None:
            self.timer = self.loop.call_at(due, self._deliver)
        if not self.paused and self._held() > self.settings.queue and self.source is not None:
            self.paused = True
            self.source.pause_reading()

    def end(self) -> None:
        if self.ended:
            return
        self.ended = True
        if not self.queue:
            self._finish()

    def _held(self) -> int:
        buffered = self.sink.get_write_buffer_size() if self.sink is not None else 0
        return self.queued + buffered

    def _deliver(self) -> None:
        self.timer = None
        now = self.loop.time()
        ready = []
        while self.queue and self.queue[0][0] <= now:
            _, data = self.queue.popleft()
            self.queued -= len(data)
            ready.append(data)
        if ready and self.sink is not None and not self.sink.is_closing():
            self.sink.writelines(ready)
        if self.queue:
            self.timer = self.loop.call_at(self.queue[0][0], self._deliver)
        elif self.ended:
            self._finish()
        self.maybe_resume()

    def maybe_resume(self) -> None:
        if self.paused and self._held() <= self.settings.queue // 2 and self.source is not None:
            self.paused = False
            if not self.source.is_closing():
                self.source.resume_reading()

    def _finish(self) -> None:
        sink = self.sink
        if sink is not None and not sink.is_closing():
            if sink.can_write_eof():
                sink.write_eof()
            else:
                sink.close()
        self.drained = True
        self.on_drained()

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.queue.clear()
        self.queued = 0


class _Side(asyncio.Protocol):
    """One of the two sockets of a proxied connection. ``out`` carries what this side reads."""

    def __init__(self, connection: _Connection, out: _Pipe, back: _Pipe) -> None:
        self.connection = connection
        self.out = out
        self.back = back
        self.transport: asyncio.Transport | None = None
        self.on_made: Callable[[asyncio.Transport], None] = lambda transport: None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.on_made(transport)

    def data_received(self, data: bytes) -> None:
        self.out.feed(data)

    def eof_received(self) -> bool:
        self.out.end()
        return True  # keep the other direction open until it ends too

    def pause_writing(self) -> None:
        pass  # _Pipe watches the write buffer itself

    def resume_writing(self) -> None:
        self.back.maybe_resume()

    def connection_lost(self, exc: Exception | None) -> None:
        self.out.end()
        self.connection.lost(self, exc)


class _Connection:
    """A client's connection and the proxy's connection to the target, joined by two pipes."""

    def __init__(self, link: Link) -> None:
        self.link = link
        loop = link.loop
        self.up = _Pipe(loop, link.up, link.settings)  # client -> target
        self.down = _Pipe(loop, link.down, link.settings)  # target -> client
        self.client = _Side(self, self.up, self.down)
        self.target = _Side(self, self.down, self.up)
        self.client.on_made = self._accepted
        self.up.on_drained = self.down.on_drained = self._maybe_close

    def _accepted(self, client: asyncio.Transport) -> None:
        if self.link.settings.handshake:
            delay = self.link.settings.delay_s
            self.up.not_before = self.link.loop.time() + 3 * delay  # SYN, SYN-ACK, then data
        # Nothing is read from the client before the target's connection is there to take it.
        client.pause_reading()
        self.opening = self.link.loop.create_task(self.open(client))

    async def open(self, client: asyncio.Transport) -> None:
        try:
            transport, _ = await self.link.loop.create_connection(
                lambda: self.target, self.link.target_host, self.link.target_port
            )
        except OSError:
            client.abort()
            return
        assert isinstance(transport, asyncio.Transport)
        self.up.source, self.up.sink = client, transport
        self.down.source, self.down.sink = transport, client
        client.resume_reading()

    def _maybe_close(self) -> None:
        if self.up.drained and self.down.drained:
            for side in (self.client, self.target):
                if side.transport is not None:
                    side.transport.close()

    def lost(self, side: _Side, exc: Exception | None) -> None:
        other = self.target if side is self.client else self.client
        if exc is not None:
            # A reset: the peer sees one too, without the bytes still on the link.
            self.up.cancel()
            self.down.cancel()
            if other.transport is not None:
                other.transport.abort()
        self.link.connections.discard(self)


class Link:
    """The proxy: connections accepted on ``listen`` go on to ``target`` through the link."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        target_host: str,
        target_port: int,
        settings: LinkSettings,
    ) -> None:
        self.loop = loop
        self.target_host = target_host
        self.target_port = target_port
        self.settings = settings
        now = loop.time()
        self.up = TokenBucket(settings.rate, settings.burst, now)
        self.down = TokenBucket(settings.rate, settings.burst, now)
        self.connections: set[_Connection] = set()

    def accept(self) -> asyncio.Protocol:
        connection = _Connection(self)
        self.connections.add(connection)
        return connection.client


async def serve(
    listen: tuple[str, int],
    target: tuple[str, int],
    settings: LinkSettings,
    stop: asyncio.Event,
    on_listening: Callable[[str, int], None],
) -> None:
    """Proxy connections from ``listen`` to ``target`` until ``stop`` is set."""
    loop = asyncio.get_running_loop()
    link = Link(loop, target[0], target[1], settings)
    server = await loop.create_server(link.accept, listen[0], listen[1], backlog=128)
    host, port = server.sockets[0].getsockname()[:2]
    on_listening(host, port)
    async with server:
        await stop.wait()


class LinkThread:
    """The proxy on an event loop in a thread of this process (for tests: no process to start,
    the same code as ``LinkProxy`` runs)."""

    def __init__(self, target_port: int, settings: LinkSettings | None = None) -> None:
        self.settings = settings or LinkSettings()
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None

        def listening(host: str, port: int) -> None:
            self.host, self.port = host, port
            self._ready.set()

        def run() -> None:
            try:
                self._loop.run_until_complete(
                    serve(
                        ("127.0.0.1", 0),
                        ("127.0.0.1", target_port),
                        self.settings,
                        self._stop,
                        listening,
                    )
                )
            except BaseException as error:  # reported by __init__ or stop()
                self._error = error
                self._ready.set()
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="link", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None or not self._ready.is_set():
            raise RuntimeError(f"the link did not start: {self._error!r}")

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)

    def __enter__(self) -> LinkThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
