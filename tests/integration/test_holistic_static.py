"""Static-image extraction is independent of what the graph saw before: every image gives what a
fresh MediaPipe graph gives (MediaPipe 0.10.21 carries the face region between calls otherwise)."""
from __future__ import annotations

import numpy as np

from signstream.extract.holistic import HolisticExtractor
from tests.support.photos import PHOTOS


def test_each_image_gives_what_a_fresh_graph_gives():
    fresh = {}
    for name, photo in PHOTOS.items():
        with HolisticExtractor(static_image_mode=True) as graph:
            fresh[name] = graph(photo())
    with HolisticExtractor(static_image_mode=True) as graph:
        for name in ("grace_hopper", "astronaut", "camera", "grace_hopper", "grace_hopper", "astronaut"):
            result = graph(PHOTOS[name]())
            for part in ("pose", "face", "left_hand", "right_hand"):
                np.testing.assert_array_equal(getattr(result, part), getattr(fresh[name], part),
                                              err_msg=f"{name} {part} depends on earlier images")
