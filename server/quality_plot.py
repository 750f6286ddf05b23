"""The wrist-trajectory plot of a motion-quality report (`signstream quality`, the quality bench).

One row of panels per sentence: both wrists' x and y in pixels over time, transitions shaded and
signs named, so two methods can be compared by eye. Figures themselves: signstream/quality.py.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from signstream.pipeline import FrameKind
from signstream.quality import WRISTS, find_junctions


def _sign_spans(sign_ids: np.ndarray, kinds: np.ndarray) -> list[tuple[str, int, int]]:
    """(sign, first, last) frame of each sign's own frames, in order."""
    own = np.flatnonzero(np.asarray(kinds) != FrameKind.TRANSITION)
    spans: list[tuple[str, int, int]] = []
    for k in own:
        if spans and spans[-1][0] == sign_ids[k] and spans[-1][2] == k - 1:
            spans[-1] = (spans[-1][0], spans[-1][1], int(k))
        else:
            spans.append((str(sign_ids[k]), int(k), int(k)))
    return spans


def joint_track(data: dict[str, np.ndarray], joint: int, axis: int) -> np.ndarray:
    """(N,) float64: a body joint's x (axis 0) or y (axis 1) in pixels, NaN where it is missing, so a
    plot leaves a gap instead of drawing a missing point."""
    frames = data["keypoints"]
    size = float(data["width"]) if axis == 0 else float(data["height"])
    v = frames[:, joint, axis].astype(np.float64) * size
    v[~(frames[:, joint, 2] > 0) | ~np.isfinite(v)] = np.nan
    return v


def _draw_panel(axes, data: dict[str, np.ndarray], label: str, name_signs: bool) -> None:
    """Wrist x (left axis) and y (right axis) in pixels over time on one row of two axes."""
    kinds, ids, fps = data["kinds"], np.asarray(data["sign_ids"]).astype(str), float(data["fps"])
    t = np.arange(kinds.shape[0]) / fps
    for col, ax in enumerate(axes):
        for name, j in WRISTS.items():
            ax.plot(t, joint_track(data, j, col), lw=1.2, label=name.replace("_", "-"))
        for jn in find_junctions(kinds, ids):
            ax.axvspan(jn.first / fps, jn.last / fps, color="tab:orange", alpha=0.18, lw=0)
            ax.axvline((jn.first + jn.last) / 2 / fps, color="grey", lw=0.6, ls="--")
        ax.set_ylabel(f"{label}\nwrist {'xy'[col]} (px)" if col == 0 else f"wrist {'xy'[col]} (px)")
        if col == 1:
            ax.invert_yaxis()                                              # image y grows downwards
    if name_signs:
        for sign, first, last in _sign_spans(ids, kinds):
            axes[0].annotate(sign, ((first + last) / 2 / fps, 1.0), xycoords=("data", "axes fraction"),
                             ha="center", va="bottom", fontsize=7)


def plot_trajectories(path: str | Path, panels: Sequence[tuple[str, dict[str, np.ndarray]]]) -> Path:
    """PNG with one row per (label, results arrays): wrist x and y over time, transitions shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 2, figsize=(14, 2.6 * len(panels) + 0.8), squeeze=False)
    try:
        for row, (label, data) in enumerate(panels):
            _draw_panel(axes[row], data, label, name_signs=True)
        for ax in axes[-1]:
            ax.set_xlabel("time (s)")
        axes[0][1].legend(loc="upper right", fontsize=7)
        fig.suptitle("wrist trajectories across sign boundaries (shaded: junctions, transition frames)", fontsize=10)
        fig.tight_layout()
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=110)
        return out
    finally:
        plt.close(fig)
