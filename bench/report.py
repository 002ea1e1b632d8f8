"""The benchmark's results summed up: medians per case, Markdown tables, and the check of the
issues' targets (``bench/run.py`` measures; ``tests/unit/test_bench.py`` tests this part)."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bench.link_emulation import DELAY_S, RATE_MBIT

SYSTEMS = ("ours", "ours-parallel", "drf", "floor")
NETWORKS = ("loopback", "link")

# The targets of the issues, checked on the benchmark's own results.
TARGET_PARALLEL_RATIO = 2.0  # loopback: ours parallel / drf, at every chunk size
TARGET_LINK_SHARE = 0.85  # emulated link: ours parallel / the link's rate, at every chunk size
TARGET_SERIAL_RATIO = {1: 1.3, 8: 1.2}  # loopback: ours serial / drf, by chunk size in MiB
TARGET_COMPLETE_S = 0.050  # completeUpload, at every file size
TARGET_RSS_MARGIN_MIB = 10.0  # peak RSS per worker: at most drf-chunked-upload's plus this
# "Flat in file size": the spread over the file sizes (the large file included) stays within this.
FLAT_COMPLETE_S = 0.020
FLAT_RSS_MIB = 5.0


@dataclass(frozen=True)
class Network:
    name: str  # one of NETWORKS
    delay_s: float = DELAY_S
    mbit: float = RATE_MBIT
    handshake: bool = False  # a round trip for every new connection

    @property
    def cap_mb_s(self) -> float:
        return self.mbit / 8

    def describe(self) -> str:
        if self.name == "loopback":
            return "loopback"
        handshake = ", a round trip per new connection" if self.handshake else ""
        return (
            f"emulated link ({self.delay_s * 1000:g} ms each way, {self.mbit:g} Mbit/s each way"
            f"{handshake}; bench/link.py)"
        )


def machine_line(info: dict[str, Any]) -> str:
    return (
        f"{info['cpu']}, {info['cores']} cores, {info['ram_gib']:.0f} GiB RAM, "
        f"Python {info['python']}, {info['kernel']}"
    )


def per_gib(record: dict[str, Any], key: str) -> float:
    return float(record[key]) / (float(record["size_mib"]) / 1024)


def cores_busy(record: dict[str, Any]) -> float:
    """The CPU the server, the client and the link proxy used, over the upload's wall time."""
    cpu = float(record["server_cpu_s"] + record["client_cpu_s"] + record["link_cpu_s"])
    return cpu / float(record["wall_s"])


def _medians(mine: list[dict[str, Any]]) -> dict[str, Any]:
    def median(values: Iterator[float]) -> float:
        return statistics.median(values)

    return {
        "runs": len(mine),
        "workers": mine[0]["workers"],
        "mb_s": median(r["mb_s"] for r in mine),
        "peak_rss_mib": median(r["peak_rss_mib"] for r in mine),
        "completing_s": (
            median(r["completing_s"] for r in mine) if mine[0]["completing_s"] is not None else None
        ),
        "server_cpu_s_per_gib": median(per_gib(r, "server_cpu_s") for r in mine),
        "client_cpu_s_per_gib": median(per_gib(r, "client_cpu_s") for r in mine),
        "link_cpu_s_per_gib": median(per_gib(r, "link_cpu_s") for r in mine),
        "cores_busy": median(cores_busy(r) for r in mine),
    }


def _ratio(ours: list[dict[str, Any]], drf: list[dict[str, Any]]) -> float | None:
    """The median over runs of ours / drf, each run pairing two uploads made back to back."""
    drf_by_run = {r["run"]: r for r in drf}
    ratios = [o["mb_s"] / drf_by_run[o["run"]]["mb_s"] for o in ours if o["run"] in drf_by_run]
    return statistics.median(ratios) if ratios else None


def summarise(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Medians per (network, file size, chunk size) for every system in its best setting (the
    worker count with the highest median throughput; every setting's median is kept too); the
    ratios are medians of per-run ratios against drf in its best setting."""
    cases = sorted(
        {(r.get("network", "loopback"), r["size_mib"], r["chunk_mib"]) for r in records},
        key=lambda case: (NETWORKS.index(case[0]), case[1], case[2]),
    )
    rows = []
    for network, size_mib, chunk_mib in cases:
        row: dict[str, Any] = {"network": network, "size_mib": size_mib, "chunk_mib": chunk_mib}
        of_case = [
            r
            for r in records
            if (r.get("network", "loopback"), r["size_mib"], r["chunk_mib"])
            == (network, size_mib, chunk_mib)
        ]
        best_records: dict[str, list[dict[str, Any]]] = {}
        for name in SYSTEMS:
            settings: dict[int, list[dict[str, Any]]] = {}
            for r in of_case:
                if r["system"] == name:
                    settings.setdefault(r.get("workers", 2), []).append(r)
            if not settings:
                continue
            summaries = {workers: _medians(mine) for workers, mine in settings.items()}
            best = max(summaries, key=lambda workers: summaries[workers]["mb_s"])
            row[name] = {
                **summaries[best],
                "mb_s_by_workers": {w: s["mb_s"] for w, s in sorted(summaries.items())},
            }
            best_records[name] = settings[best]
        if "drf" in best_records:
            for name, key in (("ours", "ratio"), ("ours-parallel", "parallel_ratio")):
                if name in best_records:
                    ratio = _ratio(best_records[name], best_records["drf"])
                    if ratio is not None:
                        row[key] = ratio
        rows.append(row)
    return rows


def size_label(mib: int) -> str:
    return f"{mib // 1024} GiB" if mib >= 1024 and mib % 1024 == 0 else f"{mib} MiB"


def _value(row: dict[str, Any], name: str, key: str) -> Any:
    return row.get(name, {}).get(key)


def _fmt(value: float | None, fmt: str, scale: float = 1.0) -> str:
    return "-" if value is None else format(value * scale, fmt)


def _trio(row: dict[str, Any], key: str, fmt: str, scale: float = 1.0) -> str:
    """drf / ours serial / ours parallel in one cell."""
    names = ("drf", "ours", "ours-parallel")
    return " / ".join(_fmt(_value(row, name, key), fmt, scale) for name in names)


def throughput_table(rows: list[dict[str, Any]], network: Network) -> str:
    link = network.name == "link"
    header = [
        "file", "chunk", "drf MB/s", "drf MB/s by workers", "ours serial MB/s",
        "ours parallel MB/s", "floor MB/s", "serial / drf", "parallel / drf",
    ]  # fmt: skip
    if link:
        header.append(f"parallel / {network.mbit:g} Mbit/s")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        drf = row.get("drf")
        by_workers = (
            " / ".join(f"{w} w: {v:.1f}" for w, v in drf["mb_s_by_workers"].items()) if drf else "-"
        )
        cells = [
            size_label(row["size_mib"]),
            f"{row['chunk_mib']} MiB",
            f"{drf['mb_s']:.1f} ({drf['workers']} w)" if drf else "-",
            by_workers,
            _fmt(_value(row, "ours", "mb_s"), ".1f"),
            _fmt(_value(row, "ours-parallel", "mb_s"), ".1f"),
            _fmt(_value(row, "floor", "mb_s"), ".1f"),
            _fmt(row.get("ratio"), ".2f"),
            _fmt(row.get("parallel_ratio"), ".2f"),
        ]
        if link:
            cells.append(_fmt(_value(row, "ours-parallel", "mb_s"), ".0%", 1 / network.cap_mb_s))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cost_table(rows: list[dict[str, Any]], network: Network) -> str:
    link = network.name == "link"
    header = [
        "file", "chunk", "server CPU s/GiB", "client CPU s/GiB",
        *(["link proxy CPU s/GiB"] if link else []),
        "cores busy", "complete (ms)", "peak RSS/worker (MiB)",
    ]  # fmt: skip
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in rows:
        cells = [
            size_label(row["size_mib"]),
            f"{row['chunk_mib']} MiB",
            _trio(row, "server_cpu_s_per_gib", ".1f"),
            _trio(row, "client_cpu_s_per_gib", ".1f"),
            *([_trio(row, "link_cpu_s_per_gib", ".2f")] if link else []),
            _trio(row, "cores_busy", ".2f"),
            _trio(row, "completing_s", ".0f", 1000),
            _trio(row, "peak_rss_mib", ".0f"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_tables(rows: list[dict[str, Any]], networks: list[Network]) -> str:
    parts = []
    for network in networks:
        mine = [r for r in rows if r["network"] == network.name]
        if not mine:
            continue
        title = network.describe()
        title = title[0].upper() + title[1:]
        parts.append(f"**{title}**: throughput")
        parts.append(throughput_table(mine, network))
        parts.append(
            f"**{title}**: cost, each cell drf / ours serial / ours "
            "parallel (CPU per GiB uploaded; cores busy: server + client"
            + (" + proxy" if network.name == "link" else "")
            + " CPU over the wall time)"
        )
        parts.append(cost_table(mine, network))
    return "\n\n".join(parts)


def check_targets(
    rows: list[dict[str, Any]],
    large: dict[str, Any] | None,
    huge: list[dict[str, Any]] | None = None,
    link_mbit: float = RATE_MBIT,
) -> list[str]:
    """One line per target of the issues: PASS or FAIL, for the targets the run measured."""
    verdict = {True: "PASS", False: "FAIL"}
    lines = []

    def case(row: dict[str, Any]) -> str:
        return f"{size_label(row['size_mib'])} / {row['chunk_mib']} MiB"

    loopback = [r for r in rows if r.get("network", "loopback") == "loopback"]
    paired = [r for r in loopback if "parallel_ratio" in r]
    if paired:
        worst = min(paired, key=lambda r: r["parallel_ratio"])
        lines.append(
            f"{verdict[worst['parallel_ratio'] >= TARGET_PARALLEL_RATIO]} loopback: ours "
            f"parallel ≥ {TARGET_PARALLEL_RATIO:g}x drf at every chunk size (lowest: "
            f"{worst['parallel_ratio']:.2f}x at {case(worst)})"
        )
    linked = [r for r in rows if r.get("network") == "link" and "ours-parallel" in r]
    if linked:
        cap = link_mbit / 8
        worst = min(linked, key=lambda r: r["ours-parallel"]["mb_s"])
        share = worst["ours-parallel"]["mb_s"] / cap
        lines.append(
            f"{verdict[share >= TARGET_LINK_SHARE]} emulated link: ours parallel ≥ "
            f"{TARGET_LINK_SHARE:.0%} of {link_mbit:g} Mbit/s at every chunk size (lowest: "
            f"{share:.0%}, {worst['ours-parallel']['mb_s']:.1f} MB/s at {case(worst)})"
        )
    serial = [r for r in loopback if "ratio" in r and r["chunk_mib"] in TARGET_SERIAL_RATIO]
    if serial:
        short = min(serial, key=lambda r: r["ratio"] / TARGET_SERIAL_RATIO[r["chunk_mib"]])
        met = all(r["ratio"] >= TARGET_SERIAL_RATIO[r["chunk_mib"]] for r in serial)
        wanted = ", ".join(f"{t:g}x at {c} MiB" for c, t in TARGET_SERIAL_RATIO.items())
        lines.append(
            f"{verdict[met]} loopback: ours serial ≥ drf by {wanted} (closest: "
            f"{short['ratio']:.2f}x at {case(short)})"
        )
    parallel_completions = [
        (size_label(r["size_mib"]), r["chunk_mib"], r["ours-parallel"]["completing_s"])
        for r in loopback
        if "ours-parallel" in r
    ]
    for extra in huge or []:
        parallel_completions.append(
            (f"{size_label(extra['size_mib'])} {extra['store']}", extra["chunk_mib"],
             extra["completing_s"])
        )  # fmt: skip
    if parallel_completions:
        slowest = max(s for _, _, s in parallel_completions)
        by_case = ", ".join(f"{m}/{c} MiB {s * 1000:.0f} ms" for m, c, s in parallel_completions)
        lines.append(
            f"{verdict[slowest <= TARGET_COMPLETE_S]} completeUpload of a parallel upload ≤ "
            f"{TARGET_COMPLETE_S * 1000:.0f} ms at every file size, loopback ({by_case})"
        )
    ours = [r for r in loopback if "ours" in r]
    completions = [(r["size_mib"], r["chunk_mib"], r["ours"]["completing_s"]) for r in ours]
    if large is not None:
        completions.append((large["size_mib"], large["chunk_mib"], large["completing_s"]))
    if completions:
        slowest = max(s for _, _, s in completions)
        spread = slowest - min(s for _, _, s in completions)
        by_size = ", ".join(f"{size_label(m)}/{c} MiB {s * 1000:.0f} ms" for m, c, s in completions)
        lines.append(
            f"{verdict[slowest <= TARGET_COMPLETE_S]} completeUpload of a serial upload ≤ "
            f"{TARGET_COMPLETE_S * 1000:.0f} ms at every file size ({by_size})"
        )
        if len({m for m, _, _ in completions}) > 1:
            lines.append(
                f"{verdict[spread <= FLAT_COMPLETE_S]} completeUpload flat in file size "
                f"(spread {spread * 1000:.0f} ms, allowed {FLAT_COMPLETE_S * 1000:.0f} ms)"
            )
    with_drf = [r for r in ours if "drf" in r]
    if with_drf:
        over = max(with_drf, key=lambda r: r["ours"]["peak_rss_mib"] - r["drf"]["peak_rss_mib"])
        margin = over["ours"]["peak_rss_mib"] - over["drf"]["peak_rss_mib"]
        lines.append(
            f"{verdict[margin <= TARGET_RSS_MARGIN_MIB]} peak RSS per worker ≤ drf + "
            f"{TARGET_RSS_MARGIN_MIB:g} MiB at every chunk size (largest excess: {margin:+.0f} MiB"
            f" at {case(over)})"
        )
    peaks_by_chunk: dict[int, list[float]] = {}
    for r in ours:
        peaks_by_chunk.setdefault(r["chunk_mib"], []).append(r["ours"]["peak_rss_mib"])
    if large is not None:
        peaks_by_chunk.setdefault(large["chunk_mib"], []).append(large["peak_rss_mib"])
    spreads = {c: max(p) - min(p) for c, p in peaks_by_chunk.items() if len(p) > 1}
    if spreads:
        chunk, spread = max(spreads.items(), key=lambda item: item[1])
        lines.append(
            f"{verdict[spread <= FLAT_RSS_MIB]} peak RSS per worker flat in file size (largest "
            f"spread {spread:.0f} MiB at {chunk} MiB chunks, allowed {FLAT_RSS_MIB:g} MiB)"
        )
    for extra in huge or []:
        lines.append(
            f"{verdict[bool(extra['verified'])]} {size_label(extra['size_mib'])} parallel upload"
            f" with {extra['chunk_checksum']} chunk checksums completes byte-exact on "
            f"{extra['store']}"
        )
    return lines
