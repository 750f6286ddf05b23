"""The soak's parts without a server: --soak's bounds, where an Interrupt stops a stream, the seeded mix
of streams, the checks on hand-made stream records (each failure is caught and described), the
Prometheus text reader, the RSS/FD sampler's figures and the soak's Markdown."""
from __future__ import annotations

import argparse
import asyncio
import os
import random
from collections import Counter

import pytest

from signstream.bench import procstat, promtext, soak
from signstream.bench.expect import Expected
from signstream.bench.loadgen import Interrupt, StreamRecord
from signstream.bench.options import MAX_SOAK_MINUTES
from signstream.bench.soak_cases import ALLOWED, BAD_CONFIGS, BEHAVIOURS, REFUSED, Case, Mix
from signstream.bench.soak_checks import outcomes, stream_checks
from signstream.cli import build_parser
from signstream.cli.bench import accepted_flags
from signstream.config import Settings
from signstream.errors import InvalidArgument
from signstream.gateway.convert import spec_from_config
from signstream.lexicon import open_lexicon


# -- --soak MINUTES --------------------------------------------------------------------------------
@pytest.mark.parametrize("minutes", ["0", "-1", "1441", "nan", "inf", "abc", ""])
def test_soak_refuses_minutes_out_of_bounds(minutes, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["bench", "--soak", minutes])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --soak" in err and ("at most 1440 minutes" in err or "takes minutes" in err), err


@pytest.mark.parametrize("minutes, value", [("1", 1.0), ("0.5", 0.5), (str(MAX_SOAK_MINUTES), 1440.0)])
def test_soak_takes_minutes_within_a_day(minutes, value):
    args = build_parser().parse_args(["bench", "--soak", minutes, "--seed", "7"])
    assert args.soak == value and args.seed == 7
    assert build_parser().parse_args(["bench"]).soak is None          # the figures, as before


def test_serve_flags_are_passed_only_when_serve_has_them():
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    serve_flags = accepted_flags(commands.choices["serve"])
    assert soak.known_serve_flags({"--grace": "3", "--no-such-flag": "1"}, serve_flags) == ["--grace", "3"]


# -- Interrupt -------------------------------------------------------------------------------------
def test_an_interrupt_is_due_after_its_responses_counted_from_the_start_or_the_half_close():
    assert Interrupt(0).due(0, None)                                     # before the first frame
    assert not Interrupt(5).due(4, None) and Interrupt(5).due(5, None)
    after = Interrupt(3, after_half_close=True)
    assert not after.due(100, None)                                      # not half-closed yet
    assert not after.due(12, 10) and after.due(13, 10)
    with pytest.raises(ValueError, match="action"):
        Interrupt(1, action="vanish")


# -- the mix -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mix(demo_lexicon_dir):
    return Mix(open_lexicon(Settings(lexicon=str(demo_lexicon_dir))), 64)


def _draw(mix, seed: int, count: int):
    rng = random.Random(seed)
    return [mix.job(rng) for _ in range(count)]


def test_a_seed_gives_the_same_streams(mix):
    a, b = _draw(mix, 7, 60), _draw(mix, 7, 60)
    assert [(j.plan.sign_ids, j.plan.config, j.interrupt, j.tag) for j in a] == \
           [(j.plan.sign_ids, j.plan.config, j.interrupt, j.tag) for j in b]
    assert [j.plan.sign_ids for j in _draw(mix, 8, 60)] != [j.plan.sign_ids for j in a]


def test_the_mix_covers_every_behaviour_moment_and_bad_config(mix):
    jobs = _draw(mix, 1, 600)
    cases: list[Case] = [j.tag for j in jobs]
    assert set(Counter(c.behaviour for c in cases)) == set(BEHAVIOURS)
    labels = Counter(c.label for c in cases)
    assert {"before first frame", "mid-sentence", "after half-close"} <= set(labels)
    assert {"stop reading mid-sentence", "stop reading after half-close"} <= set(labels)
    assert set(BAD_CONFIGS) <= set(labels)
    for job in jobs:
        case = job.tag
        assert case.statuses == frozenset(ALLOWED[case.behaviour] | {REFUSED})
        if case.behaviour == "bad_config":
            assert case.expected is None and job.interrupt is None
            if not job.plan.config.style_image:                       # refused before any extraction
                with pytest.raises(InvalidArgument):
                    spec_from_config(job.plan.config)
        else:
            spec_from_config(job.plan.config)                          # a valid config
            assert case.expected.frames > 0 or case.behaviour == "bad_ids"
        if case.behaviour == "bad_ids":
            assert case.expected.notices and set(case.expected.notices) <= {"INVALID_SIGN_ID", "UNKNOWN_SIGN"}
        if case.behaviour == "abandoned":
            assert job.interrupt.action == "abandon" and job.interrupt.after < case.expected.frames
        if case.behaviour == "cancelled":
            assert job.interrupt.action == "cancel"


# -- the checks --------------------------------------------------------------------------------------
def _case(behaviour: str, frames: int | None = 10, notices: tuple[str, ...] = (), label: str | None = None) -> Case:
    expected = None if frames is None else Expected(frames, notices)
    return Case(behaviour, label or behaviour, expected, frozenset(ALLOWED[behaviour] | {REFUSED}))


def _record(case: Case, indexes, status: str = "OK", notices=()) -> StreamRecord:
    return StreamRecord(opened=0.0, indexes=list(indexes), notices=list(notices), status=status, tag=case)


def _good() -> list[StreamRecord]:
    return [
        _record(_case("complete"), range(10)),
        _record(_case("bad_ids", 5, ("INVALID_SIGN_ID", "UNKNOWN_SIGN")), range(5),
                notices=("INVALID_SIGN_ID", "UNKNOWN_SIGN")),
        _record(_case("cancelled", label="mid-sentence"), range(4), "CANCELLED"),
        _record(_case("cancelled", label="after half-close"), range(10)),          # ended before its cut
        _record(_case("abandoned"), range(3), "ABANDONED"),
        _record(_case("abandoned"), range(6), "DEADLINE_EXCEEDED"),                # the server timed it out
        _record(_case("bad_config", None, label="fps=1000"), [], "INVALID_ARGUMENT"),
        _record(_case("complete"), [], REFUSED),                                    # refused: an outcome
    ]


def _rows(records) -> dict[str, dict]:
    return {row["figure"]: row for row in stream_checks(records)}


def test_good_streams_pass_every_check():
    rows = stream_checks(_good())
    assert [r["met"] for r in rows] == [True] * len(rows), rows
    assert not any("examples" in r for r in rows)


@pytest.mark.parametrize("bad, figure", [
    (_record(_case("complete"), [0, 1, 2, 4, 5, 6, 7, 8, 9, 10]), "frame indexes exactly 0..n-1"),   # index 3 lost
    (_record(_case("complete"), [0, 1, 2, 2, 3, 4, 5, 6, 7, 8]), "frame indexes exactly 0..n-1"),   # a duplicate
    (_record(_case("complete"), range(9)), "n = Σ"),                                                  # one short
    (_record(_case("complete"), range(11)), "n = Σ"),                                                 # one extra
    (_record(_case("bad_ids", 5, ("INVALID_SIGN_ID",)), range(5)), "bad sign IDs"),                  # notice lost
    (_record(_case("bad_ids", 5, ("UNKNOWN_SIGN",)), range(5), notices=("INVALID_SIGN_ID",)), "bad sign IDs"),
    (_record(_case("bad_config", None), [], "INTERNAL"), "bad configs"),
    (_record(_case("bad_config", None), [0], "INVALID_ARGUMENT"), "bad configs"),                     # a frame first
    (_record(_case("cancelled"), [0, 2], "CANCELLED"), "cancelled / abandoned streams"),
    (_record(_case("complete"), range(3), "UNAVAILABLE"), "status their behaviour does not allow"),
    (_record(_case("abandoned"), range(3), "OK"), "status their behaviour does not allow"),
])
def test_each_kind_of_failure_fails_its_check_and_is_described(bad, figure):
    rows = stream_checks(_good() + [bad])
    failed = [r for r in rows if r["met"] is False]
    assert len(failed) >= 1 and all(figure in r["figure"] or "status" in r["figure"] or "n = Σ" in r["figure"]
                                    for r in failed), failed
    row = next(r for r in failed if figure in r["figure"])
    assert row["examples"] and bad.tag.behaviour in row["examples"][0]


def test_a_check_with_no_stream_to_look_at_is_not_met():
    rows = _rows([_record(_case("complete"), range(10))])
    assert rows["bad configs: the call ended INVALID_ARGUMENT before any frame"]["met"] is False
    assert rows["behaviours run (streams not refused)"]["met"] is False


def test_outcomes_count_streams_statuses_frames_and_kinds():
    out = outcomes(_good())
    assert list(out) == ["complete", "bad_ids", "cancelled", "abandoned", "bad_config"]
    assert out["complete"] == {"streams": 2, "statuses": {"OK": 1, REFUSED: 1}, "frames": 10, "labels": {}}
    assert out["cancelled"]["labels"] == {"mid-sentence": 1, "after half-close": 1}
    assert out["abandoned"]["statuses"] == {"ABANDONED": 1, "DEADLINE_EXCEEDED": 1}


# -- reading /metrics, sampling, the report -------------------------------------------------------------
def test_prometheus_text_is_read_by_name_and_labels():
    text = ('# HELP signstream_streams_open Streams.\n# TYPE signstream_streams_open gauge\n'
            'signstream_streams_open{rpc="Retarget"} 0\nsignstream_streams_open{rpc="Synthesize"} 3\n'
            'signstream_frames_sent_total{encoding="jpeg",rpc="Synthesize"} 1.5e3\nup 1\n')
    series = promtext.parse(text)
    assert promtext.value(series, "signstream_streams_open", rpc="Synthesize") == 3
    assert promtext.value(series, "signstream_frames_sent_total", rpc="Synthesize", encoding="jpeg") == 1500
    assert promtext.value(series, "up") == 1 and promtext.value(series, "absent", rpc="x") == 0
    assert promtext.labelled(series, "signstream_streams_open", "rpc") == {"Retarget": 0, "Synthesize": 3}
    assert promtext.labelled(series, "up", "rpc") == {}


def _sample(at: float, rss_mib: float, fds: int) -> procstat.Sample:
    return procstat.Sample(at, 0.0, int(rss_mib * 2**20), fds)


def test_growth_and_sampler_figures():
    g = procstat.growth(_sample(0, 400, 40), _sample(60, 410, 42))
    assert g == {"rss_start_mib": 400.0, "rss_end_mib": 410.0, "rss_growth_share": 0.025, "fds_start": 40,
                 "fds_end": 42, "fds_growth_share": 0.05, "over_s": 60.0}
    sampler = procstat.Sampler(None, 1.0)
    assert sampler.figures() == {}
    sampler.samples = [_sample(0, 400, 40), _sample(2, 420, 44), _sample(4, 404, 41)]
    f = sampler.figures()
    assert (f["rss_first_mib"], f["rss_last_mib"], f["rss_max_mib"], f["growth_share"]) == (400, 404, 420, 0.01)
    assert (f["fds_first"], f["fds_last"], f["fds_max"], f["over_s"], f["rss_mib"]) == (40, 41, 44, 4.0, [400, 420, 404])


def test_the_sampler_samples_this_process_while_the_block_runs():
    async def main():
        async with procstat.Sampler(os.getpid(), 0.05, tree=False) as sampler:
            await asyncio.sleep(0.3)
        count = len(sampler.samples)
        await asyncio.sleep(0.15)
        return sampler, count
    sampler, count = asyncio.run(main())
    assert count >= 3 and len(sampler.samples) == count                 # stopped at the block's end
    assert all(s.rss_bytes > 0 and s.fds > 0 for s in sampler.samples)
    kinds = procstat.fd_kinds(os.getpid(), tree=False)
    # listing /proc/self/fd opens one of its own, gone by the time its link is read
    assert kinds and abs(kinds.total() - procstat.sample(os.getpid(), tree=False).fds) <= 1


def test_the_soak_markdown_has_every_check_and_behaviour():
    records = _good()
    checks = stream_checks(records) + [{"figure": "server open FDs: 40 → 43", "value": 0.075,
                                        "target": "≤ +5% of the start", "met": False}]
    doc = {"benchmark": "signstream bench --soak", "date": "2026-11-21", "machine": "x", "command": "signstream bench --soak 1",
           "setup": {"processes": 2, "workers": 2, "server": "started here", "size": 64, "seed": 7},
           "load": {"streams_at_a_time": 8, "minutes": 1.0, "streams_run": 8, "frames": 38, "frames_per_s": 0.6},
           "outcomes": outcomes(records), "checks": checks, "passed": False}
    text = soak.markdown(doc)
    for row in checks:
        assert f"| {row['figure']} |" in text
    assert "| server open FDs: 40 → 43 | 0.075 | ≤ +5% of the start | **no** |" in text
    assert "| cancelled | 2 | CANCELLED 1, OK 1 | 14 | after half-close 1, mid-sentence 1 |" in text
    assert text.rstrip().endswith("Soak **FAILED**.")
