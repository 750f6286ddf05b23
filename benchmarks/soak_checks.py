"""The soak's verdict on its streams: each check as a row (figure, value, criterion, met), the way
`targets` reports the bench's figures, plus counts per behaviour.

A stream that ended OK is *completed*, whatever its behaviour (a cancel point it never reached):
its frame indexes must be exactly 0..n-1, n the count `expect` gives for its sentence, and its
notices exactly the expected ones. A stream cut short (CANCELLED, ABANDONED, DEADLINE_EXCEEDED)
must have received a gap-free prefix 0..k-1. A refused stream (RESOURCE_EXHAUSTED) is an outcome,
never a failure; any status outside its behaviour's allowed set is one.
"""
from __future__ import annotations

from collections import Counter

from .loadgen import StreamRecord
from .soak_cases import BEHAVIOURS, REFUSED, Case
from .stats import in_order

EXAMPLES = 3                          # failing streams described per check


def row(figure: str, value, criterion: str, met: bool | None) -> dict:
    return {"figure": figure, "value": value, "target": criterion, "met": met}


def _describe(record: StreamRecord) -> str:
    case: Case = record.tag
    expected = case.expected
    indexes = record.indexes
    head = f"{case.behaviour} ({case.label}): status {record.status}, {len(indexes)} frames"
    if expected is not None:
        head += f" (expected {expected.frames}), notices {record.notices} (expected {list(expected.notices)})"
    gaps = [f"{a}->{b}" for a, b in zip(indexes, indexes[1:]) if b != a + 1][:3]
    return head + (f", index jumps {gaps}" if gaps else "") + (f", first index {indexes[0]}" if indexes and indexes[0] else "")


def _violations(figure: str, streams: list[StreamRecord], bad) -> dict:
    """Streams failing `bad`: 0 of at least one stream is met."""
    failing = [r for r in streams if bad(r)]
    out = row(figure, len(failing), f"0 of {len(streams)} streams (≥ 1)", not failing and bool(streams))
    if failing:
        out["examples"] = [_describe(r) for r in failing[:EXAMPLES]]
    return out


def stream_checks(records: list[StreamRecord]) -> list[dict]:
    """Rows for the streams' own checks (the server-side ones are added by the soak)."""
    served = [r for r in records if r.status != REFUSED]
    completed = [r for r in served if r.ok and r.tag.expected is not None]
    with_notices = [r for r in completed if r.tag.expected.notices]
    bad_configs = [r for r in served if r.tag.behaviour == "bad_config"]
    cut = [r for r in served if r.tag.behaviour in ("cancelled", "abandoned") and not r.ok]
    ran = Counter(r.tag.behaviour for r in served)
    unexpected = Counter(r.status for r in records if r.status not in r.tag.statuses)
    rows = [
        _violations("completed streams: frame indexes exactly 0..n-1 (no gap, no duplicate)", completed,
                    lambda r: not in_order(r)),
        _violations("completed streams: n = Σ(Tᵢ + (Tᵢ−1)·m) + (N−1)·n of their sentence", completed,
                    lambda r: len(r.indexes) != r.tag.expected.frames),
        _violations("bad sign IDs: each got its Notice (INVALID_SIGN_ID / UNKNOWN_SIGN), stream went on",
                    with_notices, lambda r: tuple(r.notices) != r.tag.expected.notices),
        _violations("bad configs: the call ended INVALID_ARGUMENT before any frame", bad_configs,
                    lambda r: r.status != "INVALID_ARGUMENT" or r.indexes),
        _violations("cancelled / abandoned streams: frames received 0..k-1 before the cut", cut,
                    lambda r: not in_order(r)),
        row("streams that ended with a status their behaviour does not allow", dict(unexpected) or 0, "0",
            not unexpected),
        row("behaviours run (streams not refused)", dict(ran), "each ≥ 1", all(ran[b] for b in BEHAVIOURS)),
    ]
    unexpected_examples = [_describe(r) for r in records if r.status not in r.tag.statuses][:EXAMPLES]
    if unexpected_examples:
        rows[5]["examples"] = unexpected_examples
    return rows


def outcomes(records: list[StreamRecord]) -> dict:
    """Per behaviour: streams, their end statuses, frames read; and per cancel moment / bad config."""
    out: dict[str, dict] = {}
    for r in records:
        case: Case = r.tag
        entry = out.setdefault(case.behaviour, {"streams": 0, "statuses": Counter(), "frames": 0, "labels": Counter()})
        entry["streams"] += 1
        entry["statuses"][r.status] += 1
        entry["frames"] += len(r.indexes)
        if case.label != case.behaviour:
            entry["labels"][case.label] += 1
    return {b: {**v, "statuses": dict(v["statuses"]), "labels": dict(v["labels"])}
            for b, v in sorted(out.items(), key=lambda kv: BEHAVIOURS.index(kv[0]))}
