"""Issue 5's targets, checked against a bench result document. Each row: figure, value, target, met."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    name: str
    path: tuple[str, ...]        # where the figure sits in the result document
    op: str                      # "<=" or ">="
    bound: float
    unit: str = ""

    def value(self, doc: dict):
        node = doc
        for key in self.path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    def row(self, doc: dict) -> dict:
        value = self.value(doc)
        met = None if value is None else (value <= self.bound if self.op == "<=" else value >= self.bound)
        return {"figure": self.name, "value": value, "target": f"{self.op} {self.bound:g}{self.unit}", "met": met}


TARGETS = (
    Target("time to first frame p50, 16 streams JPEG ASAP", ("load", "jpeg@16", "first_frame_p50_ms"), "<=", 25, " ms"),
    Target("time to first frame p99, 16 streams JPEG ASAP", ("load", "jpeg@16", "first_frame_p99_ms"), "<=", 100, " ms"),
    Target("JPEG ASAP frames/s / encode ceiling", ("jpeg_ceiling", "best_share"), ">=", 0.6),
    Target("REALTIME 25 fps, p99 lateness (ms) at the realtime stream count", ("realtime", "lateness_p99_ms"),
           "<=", 40, " ms"),
    Target("REALTIME streams held", ("realtime", "streams"), ">=", 24),
    Target("REALTIME 25 fps, p99 lateness (ms) beside clients sending 36 Mpx photos",
           ("heavy_images", "loaded", "lateness_p99_ms"), "<=", 40, " ms"),
    Target("keypoints only (NONE) frames/s", ("load", "best_none_frames_per_s"), ">=", 5000),
    Target("numba / NumPy reference, normalize+insert+transition (seed method)", ("kernels", "speedup"), ">=", 30, "x"),
    Target("numba / NumPy reference, retarget + smooth transitions (the defaults)", ("kernels", "default_speedup"),
           ">=", 30, "x"),
    Target("numba renderer / cv2 renderer, 512²", ("kernels", "render_speedup"), ">=", 30, "x"),
    Target("normalize + transition µs per output frame", ("kernels", "normalize_transition_us"), "<=", 20, " µs"),
    Target("holistic via Triton / in-process frames/s", ("triton", "ratio_p2"), ">=", 0.9),
    Target("server RSS per idle stream", ("idle", "rss_per_stream_mib"), "<=", 2, " MiB"),
    Target("server RSS growth over the sustained load (--memory-minutes)", ("memory", "sustained", "growth_share"),
           "<=", 0.05),
)


def evaluate(doc: dict) -> list[dict]:
    return [t.row(doc) for t in TARGETS]
