"""An emulated network link on loopback: a TCP proxy adding a one-way delay and a rate cap.

    python -m bench.link --target 127.0.0.1:8000             # 25 ms each way, 200 Mbit/s
    python -m bench.link --target 127.0.0.1:8000 --delay-ms 40 --mbit 100
    python -m bench.link --measure                          # what the proxy itself can carry

This kernel has no netem, so the benchmark's clients reach a server through this proxy instead.
Every byte read from one side is written to the other side ``delay`` seconds after it leaves a
token bucket of ``rate`` bytes per second: one bucket per direction, shared by every connection
through the proxy, as the connections of one client share one real link. The bucket holds
``burst`` bytes (256 KiB by default, about 10 ms at 200 Mbit/s), enough to absorb the proxy's
own scheduling hiccups on a busy machine without letting a transfer beat the cap by more than
that. So a request and its answer take at least twice the delay, and N bytes in one direction
take at least (N - burst) / rate + delay.

What it does not emulate: loss, reordering, and TCP's handshake, slow start and congestion
window over the delay (each side's TCP talks to the proxy over loopback). So it is a path whose
connections are already open and at full speed, as a client's kept-alive connection to a
reverse proxy in front of the app servers would be. gunicorn's sync workers close every
connection after its answer, and a client reaching them directly over a real link would also
pay a round trip for every new connection: ``--handshake`` adds that (a new connection's first
bytes arrive three delays after it was accepted), though not the slow start that follows.
Bytes waiting in the proxy are bounded per connection and direction (``--queue-kib``): past
that it stops reading from the sender, so a sender's writes back up into its socket as they
would at a link's full queue.

Run as a process of its own (``LinkProxy``), so its CPU time is measured apart from the
client's and the server's and it never competes with them for a GIL. It prints
``listening on HOST:PORT`` once it accepts connections.

The link itself is ``bench/link_emulation.py``; this module is the command, ``LinkProxy`` that
starts it, and ``--measure``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.link_emulation import (
    BURST,
    DELAY_S,
    KIB,
    MIB,
    QUEUE,
    RATE_MBIT,
    LinkSettings,
    bytes_per_s,
    serve,
)
from bench.servers import process_cpu_s

READY = re.compile(r"listening on ([\d.]+):(\d+)")


class LinkProxy:
    """``python -m bench.link`` in a process of its own, in front of ``target_port``."""

    def __init__(
        self,
        target_port: int,
        *,
        delay_s: float = DELAY_S,
        mbit: float = RATE_MBIT,
        burst: int = BURST,
        handshake: bool = False,
        target_host: str = "127.0.0.1",
        python: str = sys.executable,
    ) -> None:
        self.delay_s = delay_s
        self.mbit = mbit
        argv = [
            python, "-m", "bench.link",
            "--target", f"{target_host}:{target_port}",
            "--delay-ms", repr(delay_s * 1000),
            "--mbit", repr(mbit),
            "--burst-kib", repr(burst / KIB),
            *(["--handshake"] if handshake else []),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            argv,
            cwd=Path(__file__).resolve().parent.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = READY.search(line)
        if match is None:
            rest = self.process.stdout.read() if self.process.poll() is not None else ""
            self.stop()
            raise RuntimeError(f"the link proxy did not start: {line}{rest}")
        self.host, self.port = match[1], int(match[2])
        self.base_url = f"http://{self.host}:{self.port}"

    def cpu_s(self) -> float:
        return process_cpu_s(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> LinkProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --measure: what the proxy itself carries, and at what CPU cost ---------------------------------


def _sink_server() -> tuple[socket.socket, list[int]]:
    """A TCP server that reads and counts everything sent to it, one thread per connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[int] = []

    def drain(conn: socket.socket) -> None:
        index = len(received)
        received.append(0)
        with conn:
            while block := conn.recv(MIB):
                received[index] += len(block)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=drain, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener, received


def measure(seconds: float, connections: int, mbit: float, delay_s: float) -> dict[str, float]:
    """Push bytes through a proxy for ``seconds`` over ``connections`` connections at once."""
    listener, received = _sink_server()
    port = listener.getsockname()[1]
    block = os.urandom(MIB)
    with LinkProxy(port, delay_s=delay_s, mbit=mbit) as proxy:
        cpu_before = proxy.cpu_s()
        deadline = time.monotonic() + seconds
        sent = [0] * connections

        def send(index: int) -> None:
            with socket.create_connection((proxy.host, proxy.port)) as sock:
                while time.monotonic() < deadline:
                    sock.sendall(block)
                    sent[index] += len(block)

        started = time.monotonic()
        threads = [threading.Thread(target=send, args=(i,)) for i in range(connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Let what is still on the link arrive (its queues hold at most a few MiB).
        while sum(received) < sum(sent) and time.monotonic() < deadline + 30:
            time.sleep(0.01)
        wall = time.monotonic() - started
        cpu = proxy.cpu_s() - cpu_before
    listener.close()
    return {
        "mb_s": sum(received) / 1e6 / wall,
        "cap_mb_s": bytes_per_s(mbit) / 1e6,
        "proxy_cpu_s": cpu,
        "proxy_cpu_share": cpu / wall,  # of one core
        "wall_s": wall,
        "bytes": float(sum(received)),
        "intact": float(sum(received) == sum(sent)),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.link", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--target", help="HOST:PORT to forward to (not with --measure)")
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (127.0.0.1:0)")
    parser.add_argument("--delay-ms", type=float, default=DELAY_S * 1000, help="each way (25)")
    parser.add_argument("--mbit", type=float, default=RATE_MBIT, help="each way (200)")
    parser.add_argument("--burst-kib", type=float, default=BURST / KIB, help="bucket depth (256)")
    parser.add_argument("--queue-kib", type=float, default=QUEUE / KIB, help="see above (4096)")
    parser.add_argument(
        "--handshake", action="store_true", help="a round trip before a connection's bytes"
    )
    parser.add_argument(
        "--measure", action="store_true", help="carry bytes at the cap, report rate and CPU"
    )
    parser.add_argument("--seconds", type=float, default=10, help="with --measure (10)")
    parser.add_argument("--connections", type=int, default=4, help="with --measure (4)")
    args = parser.parse_args(argv)
    if not args.measure and not args.target:
        parser.error("--target is required (or --measure)")
    return args


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.measure:
        result = measure(args.seconds, args.connections, args.mbit, args.delay_ms / 1000)
        print(
            f"{result['mb_s']:.2f} MB/s through the link (cap {result['cap_mb_s']:.2f} MB/s, "
            f"{result['mb_s'] / result['cap_mb_s']:.1%}) over {args.connections} connection(s) "
            f"in {result['wall_s']:.1f} s; proxy CPU {result['proxy_cpu_s']:.2f} s "
            f"= {result['proxy_cpu_share']:.1%} of one core; "
            f"{'all bytes arrived' if result['intact'] else 'BYTES MISSING'}"
        )
        return
    settings = LinkSettings(
        delay_s=args.delay_ms / 1000,
        rate=bytes_per_s(args.mbit),
        burst=int(args.burst_kib * KIB),
        queue=int(args.queue_kib * KIB),
        handshake=args.handshake,
    )

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await serve(
            _host_port(args.listen),
            _host_port(args.target),
            settings,
            stop,
            lambda host, port: print(f"listening on {host}:{port}", flush=True),
        )

    asyncio.run(run())


if __name__ == "__main__":
    main()
