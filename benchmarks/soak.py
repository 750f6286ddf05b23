"""`signstream bench --soak MINUTES`: a bounded soak of random streams against one gateway, then checks.

    signstream bench --soak 1 --seed 7                 # what CI runs (a 1-minute soak)
    signstream bench --soak 60 --streams 16            # an hour, 16 streams at a time

Without `--server` it starts `signstream serve` as `bench` does (with /metrics on free ports, shorter
idle/send timeouts when `serve` has those flags, and glibc's mmap threshold fixed: SERVE_ENV). Then:

1. warm-up: the same random mix for WARMUP_S, so every gateway process has loaded its signs, encoders
   and allocator pools; once the open-streams gauge is back to 0, the gateway processes' RSS and
   open file descriptors are the start figures;
2. the soak: `--streams` workers (default 8), each opening one stream after another on a connection
   of its own, drawn from `soak_cases.Mix` with `--seed`: complete, bad sign IDs mixed in,
   cancelled at a random moment, abandoned (stop reading, then drop the connection), bad configs;
   RSS and FDs are sampled throughout;
3. settle: streams closed (gauge 0), then RSS and FDs sampled until back within 5 % of the start,
   for at most SETTLE_S;
4. checks (`soak_checks`, then the server's): every completed stream's indexes are exactly
   0..n-1 and n is the formula's count for its sentence; every bad input got exactly its outcome;
   health is SERVING and a fresh stream completes correctly; RSS and FDs within 5 % of the start.

Prints each check beside its criterion, writes soak.json and soak.md to `--out`, and exits 1 when
any check failed.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path

from signstream.clients.client import SignStreamClient
from signstream.config import Settings
from signstream.lexicon import open_lexicon
from signstream.v1 import signstream_pb2 as pb

from . import procstat, promtext, report
from .expect import expected_stream
from .loadgen import LoadPlan, channel, run_load, run_stream
from .run import Server, command_line, progress, workspace
from .soak_cases import Mix
from .soak_checks import outcomes, row, stream_checks
from .stats import in_order

DEFAULT_STREAMS = 8
WARMUP_S = 15.0
SETTLE_S = 10.0                        # the longest RSS and FDs get to come back after the streams closed
PAUSE_S = 1.0                          # after the gauge reads 0, for connections to finish closing
GAUGE_TIMEOUT_S = 30.0                 # the longest the open-streams gauge gets to reach 0
BOUND = 0.05                           # RSS and FDs back within 5 % of the start
OPEN = "signstream_streams_open"
# Shorter server timeouts for a soak, passed only if `serve` has the flag, so abandoned streams are
# also ended by the server (DEADLINE_EXCEEDED) within the run.
SOAK_SERVE_FLAGS = {"--idle-timeout": "5", "--send-timeout": "2"}
# glibc's mmap threshold fixed at its default initial value for the started server. By default glibc
# raises it after large frees, so later frame buffers come from the heap and stay resident: RSS then
# sits up to ~10 % above the quiet start without growing (measured: +6.9 % after 1 min, +8.1 % after
# 3 min, flat in between), which would hide a leak's signal in noise. Fixed, RSS after the soak
# reflects what the server holds, and a leak still stays resident.
SERVE_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}


def known_serve_flags(wanted: dict[str, str], known: Collection[str]) -> list[str]:
    """The `wanted` flags (with their values) that this `signstream serve` accepts (`known`: its
    flags, which `signstream bench` hands over)."""
    return [part for flag, value in wanted.items() if flag in known for part in (flag, value)]


async def open_streams(metrics_urls: list[str]) -> float | None:
    """Synthesize streams open on all gateway processes (None without their /metrics)."""
    if not metrics_urls:
        return None
    return await asyncio.to_thread(promtext.total, metrics_urls, OPEN, rpc="Synthesize")


async def gauge_settled(metrics_urls: list[str], timeout: float = GAUGE_TIMEOUT_S) -> tuple[float | None, float]:
    """Poll the open-streams gauge until it is 0 or `timeout`; (last value, seconds waited)."""
    start = time.monotonic()
    value = await open_streams(metrics_urls)
    while value and time.monotonic() - start < timeout:
        await asyncio.sleep(0.2)
        value = await open_streams(metrics_urls)
    return value, round(time.monotonic() - start, 1)


async def server_errors(metrics_urls: list[str]) -> dict[str, float]:
    """signstream_errors_total by code, summed over the gateway processes ({} without /metrics)."""
    if not metrics_urls:
        return {}
    return await asyncio.to_thread(promtext.by_label, metrics_urls, "signstream_errors_total", "code")


def _within(start: procstat.Sample, end: procstat.Sample) -> bool:
    return end.rss_bytes <= start.rss_bytes * (1 + BOUND) and end.fds <= start.fds * (1 + BOUND)


async def quiet_sample(server: Server, start: procstat.Sample | None) -> tuple[procstat.Sample | None, float]:
    """After PAUSE_S, sample every 0.5 s until RSS and FDs are within BOUND of `start` or SETTLE_S
    passed; (the last sample, seconds waited)."""
    begun = time.monotonic()
    await asyncio.sleep(PAUSE_S)
    end = server.sample()
    while start and end and not _within(start, end) and time.monotonic() - begun < SETTLE_S:
        await asyncio.sleep(0.5)
        end = server.sample()
    return end, round(time.monotonic() - begun, 1)


async def fresh_stream(target: str, mix: Mix) -> tuple[bool, str]:
    """One ordinary stream after the soak: (completed correctly, what it got)."""
    signs = tuple(mix.signs[:3])
    config = pb.SessionConfig(encoding=pb.JPEG, width=mix.size, height=mix.size)
    expected = expected_stream(mix.lexicon, config, signs)
    async with channel(target) as ch:
        record = await run_stream(ch, LoadPlan(1, signs, config))
    ok = record.ok and in_order(record) and len(record.indexes) == expected.frames and not record.notices
    return ok, f"{record.status}, {len(record.indexes)} frames (expected {expected.frames})"


async def health(target: str) -> str:
    async with SignStreamClient(target) as client:
        try:
            return await client.health()
        except Exception as exc:  # noqa: BLE001 - any failure is the answer: not healthy
            return f"no answer: {exc.__class__.__name__}"


def _fd_kinds(server: Server) -> Counter:
    return procstat.fd_kinds(server.pid) if server.pid else Counter()


def _bound_row(figure: str, start, end, share) -> dict:
    if share is None:
        return row(figure, None, f"≤ +{BOUND:.0%} of the start", None)
    return row(f"{figure}: {start} → {end}", round(share, 4), f"≤ +{BOUND:.0%} of the start", share <= BOUND)


async def _soak(server: Server, mix: Mix, minutes: float, streams: int, seed: int) -> dict:
    plan = LoadPlan(streams, (), pb.SessionConfig(), WARMUP_S, seed=seed + 1)
    progress(f"warming up: {streams} streams of the mix for {WARMUP_S:g} s ...")
    await run_load(server.target, plan, jobs=mix.job)
    await gauge_settled(server.metrics_urls)
    await asyncio.sleep(PAUSE_S)
    start, start_fds = server.sample(), _fd_kinds(server)
    errors_before = await server_errors(server.metrics_urls)
    progress(f"soak: {streams} streams at a time for {minutes:g} min (seed {seed}) ...")
    async with procstat.Sampler(server.pid, every_s=max(2.0, minutes)) as sampler:
        records, t0, t1 = await run_load(server.target, replace(plan, duration_s=minutes * 60, seed=seed), jobs=mix.job)
    progress("settling ...")
    gauge, gauge_s = await gauge_settled(server.metrics_urls)
    end, settle_s = await quiet_sample(server, start)
    end_fds = _fd_kinds(server)
    fds_changed = {k: end_fds[k] - start_fds[k] for k in start_fds | end_fds if end_fds[k] != start_fds[k]}
    errors_after = await server_errors(server.metrics_urls)
    state = await health(server.target)
    fresh_ok, fresh = await fresh_stream(server.target, mix)

    memory = procstat.growth(start, end) if start and end else {}
    checks = stream_checks(records) + [
        row("health after the soak (grpc.health.v1)", state, "SERVING", state == "SERVING"),
        row("a fresh stream after the soak", fresh, "OK, 0..n-1, n as expected", fresh_ok),
        row(f"streams open after settling ({OPEN})", gauge, "0", None if gauge is None else gauge == 0),
        _bound_row("server RSS MiB", memory.get("rss_start_mib"), memory.get("rss_end_mib"), memory.get("rss_growth_share")),
        _bound_row("server open FDs", memory.get("fds_start"), memory.get("fds_end"), memory.get("fds_growth_share")),
    ]
    frames = sum(len(r.indexes) for r in records)
    return {"load": {"streams_at_a_time": streams, "minutes": round((t1 - t0) / 60, 2), "streams_run": len(records),
                     "frames": frames, "frames_per_s": round(frames / max(t1 - t0, 1e-9), 1),
                     "gauge_settled_s": gauge_s,
                     "server_errors": {code: int(n - errors_before.get(code, 0)) for code, n in sorted(errors_after.items())
                                       if n > errors_before.get(code, 0)}},
            "outcomes": outcomes(records), "checks": checks,
            "memory": {**memory, "settle_s": settle_s, "fds_changed_by_kind": fds_changed, "during": sampler.figures()},
            "passed": all(c["met"] is not False for c in checks)}


def soak(args: argparse.Namespace, serve_flags: Collection[str] = ()) -> dict:
    streams = max(args.streams) if args.streams else DEFAULT_STREAMS
    flags = [] if args.server else known_serve_flags(SOAK_SERVE_FLAGS, serve_flags)
    doc = report.document(
        "signstream bench --soak", command_line(),
        setup={"minutes": args.soak, "seed": args.seed, "streams": streams, "size": args.size,
               "processes": None if args.server else args.processes or os.cpu_count(),
               "workers": None if args.server else args.workers or os.cpu_count(),
               "server": args.server or "started here", "serve_flags": flags,
               "serve_env": None if args.server else SERVE_ENV, "warmup_s": WARMUP_S,
               "bound": BOUND})
    with contextlib.ExitStack() as stack:
        lexicon_dir, log_dir = workspace(args.lexicon, stack)
        mix = Mix(open_lexicon(Settings(lexicon=lexicon_dir)), args.size)
        progress(f"starting the server (--processes {args.processes}) ..." if not args.server else
                 f"soaking {args.server} ...")
        server = stack.enter_context(Server(args, lexicon_dir, log_dir, *flags, metrics=True, env=SERVE_ENV))
        doc.update(asyncio.run(_soak(server, mix, args.soak, streams, args.seed)))
    return doc


def markdown(doc: dict) -> str:
    setup, load = doc["setup"], doc["load"]
    layout = (f"{setup['processes']} gateway process(es) × {setup['workers']} CPU threads"
              if setup.get("processes") else f"server {setup['server']}")
    tuning = " ".join([*setup.get("serve_flags", []), *(f"{k}={v}" for k, v in (setup.get("serve_env") or {}).items())])
    layout += f" ({tuning})" if tuning else ""
    lines = [f"### {doc['benchmark']} — {doc['date']}, {doc['machine']}", "",
             f"`{doc['command']}` · {setup['size']}² frames · {layout} · {load['streams_at_a_time']} streams at a "
             f"time for {load['minutes']:g} min, seed {setup['seed']} · {load['streams_run']} streams, "
             f"{load['frames']:,} frames ({load['frames_per_s']:g}/s)", "",
             *report.rows_table(doc["checks"], ("check", "criterion")), "",
             "| behaviour | streams | end statuses | frames read | kinds |", "|---|---:|---|---:|---|"]
    for behaviour, v in doc["outcomes"].items():
        statuses = ", ".join(f"{k} {n}" for k, n in sorted(v["statuses"].items()))
        labels = ", ".join(f"{k} {n}" for k, n in sorted(v["labels"].items())) or "–"
        lines.append(f"| {behaviour} | {v['streams']} | {statuses} | {v['frames']:,} | {labels} |")
    if load.get("server_errors"):
        lines += ["", "Calls the server ended with an error during the soak (signstream_errors_total, by code): " +
                  ", ".join(f"{code} {n}" for code, n in load["server_errors"].items()) + "."]
    examples = [f"- {c['figure']}: {e}" for c in doc["checks"] for e in c.get("examples", [])]
    if examples:
        lines += ["", "Failing streams (first few per check):", "", *examples]
    lines += ["", f"Soak {'passed' if doc['passed'] else '**FAILED**'}."]
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace, serve_flags: Collection[str] = ()) -> int:
    """`signstream bench --soak`; `serve_flags`: the flags `signstream serve` takes."""
    doc = soak(args, serve_flags)
    out = Path(args.out)
    report.write_json(out / "soak.json", doc)
    table = markdown(doc)
    (out / "soak.md").write_text(table)
    print(table)
    print(f"wrote {out / 'soak'}.json, .md")
    return 0 if doc["passed"] else 1
