"""The bench's JPEG ceiling works on exactly the gateway's frames: same synthesis, BGR drawing, BGR encode."""
from __future__ import annotations

import numpy as np

from signstream.bench import ceiling
from signstream.config import Settings
from signstream.lexicon import open_lexicon
from signstream.pipeline import SynthesisOptions, sentence_length
from signstream.style import default_style
from signstream.render.encode import decode_image, get_encoder
from signstream.render.skeleton import render_frame


def test_ceiling_frames_are_the_streams_frames_drawn_and_encoded_as_the_gateway_does(demo_lexicon_dir):
    lexicon = open_lexicon(Settings(lexicon=str(demo_lexicon_dir)))
    ids = ["hello", "name", "thank-you"]
    options = SynthesisOptions(num_interpolation=4, num_insert_interpolation=1)
    frames = ceiling.sentence_frames(lexicon, ids, options)
    clips = [(i, lexicon.get_clip(i).frames) for i in ids]
    assert len(frames) == sentence_length(clips, default_style(), options)

    images = ceiling.rendered(frames[:3], 96, 80)
    for frame, bgr in zip(frames[:3], images):
        rgb = render_frame(frame, 96, 80)
        np.testing.assert_array_equal(bgr, rgb[..., ::-1])
        assert get_encoder("jpeg").encode_bgr(bgr) == get_encoder("jpeg")(rgb)
        assert decode_image(get_encoder("jpeg").encode_bgr(bgr)).shape == (80, 96, 3)
    assert ceiling.jpeg_ceiling(images, seconds=0.2, threads=1) > 0
