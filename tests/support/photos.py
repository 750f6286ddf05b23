"""The real photos, from `signstream.bench.photos` (the benchmarks use them too)."""
from signstream.bench.photos import PHOTOS, camera, grace_hopper

__all__ = ["PHOTOS", "camera", "grace_hopper"]
