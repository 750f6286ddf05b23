"""The kernel benchmark times both methods' kernels against their references on the same sentence."""
from __future__ import annotations

from signstream.bench import kernels


def test_both_methods_are_timed_stage_by_stage_with_their_totals():
    result = kernels.run(num_signs=3, n=4, m=1, repeats=1)
    rows = {row["stage"]: row for row in result["rows"]}
    assert {"normalize", "retarget", "smooth join", "smooth length probe (n=4)", "smooth transition (n=4)",
            kernels.SEED_TOTAL, kernels.DEFAULT_TOTAL} <= set(rows)
    assert all(row["numba_us_per_frame"] > 0 and row["speedup"] > 0 for row in rows.values())
    default_parts = ["retarget", "smooth join", "smooth length probe (n=4)", "smooth transition (n=4)"]
    total = sum(rows[s]["numba_us_per_frame"] for s in default_parts)
    assert abs(rows[kernels.DEFAULT_TOTAL]["numba_us_per_frame"] - total) < 1e-6 * total


def test_the_summary_has_both_headline_figures():
    summary = kernels.summary(signs=(2, 3), n=4, m=1, repeats=1)
    assert summary["speedup"] > 0 and summary["default_speedup"] > 0 and summary["default_us"] > 0
    assert summary["normalize_transition_us"] > 0 and summary["render_speedup"] > 0
