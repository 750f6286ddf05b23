"""What a Synthesize stream must deliver, worked out from the lexicon without a server: the number of
frames and the notices, in order. The soak and the cancel-storm test check every completed stream
against this.

    expected = expected_stream(lexicon, config, ["¶hello", "../x", "¶nope", "¶name"])
    expected.frames    # pipeline.sentence_length of hello and name under the config's options
    expected.notices   # ("INVALID_SIGN_ID", "UNKNOWN_SIGN")
    expected_stream(lexicon, config, [Text("Hi Tom!")])   # texts: glossed, letters joined, as the session does

The config is read by the gateway's own `spec_from_config` (an unset count takes its default, 0 means none,
as the server takes it), the IDs are looked up with the lexicon's own `get_clip` (an invalid ID or an
unknown sign becomes its notice and adds no frames, as the session skips it), and the count is
`pipeline.sentence_length` on the session's own style (`session.on_canvas`): the linear formula
Σ(Tᵢ + (Tᵢ−1)·m) + (N−1)·n, or the smooth sentence itself. A smooth stream makes that many when
each sign reaches the gateway before the previous sign's held frames are due (280 ms), as a client
that sends the next sign at the previous sign's first frame does.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from signstream.errors import CorruptClip, InvalidSignId, StoreUnavailable, UnknownSign
from signstream.gateway.convert import spec_from_config
from signstream.lexicon import Lexicon
from signstream.pipeline import sentence_length
from signstream.spec import on_canvas
from signstream.style import default_style
from signstream.text import Step, Text, gloss_message, staged
from signstream.v1 import signstream_pb2 as pb


@dataclass(frozen=True)
class Expected:
    frames: int                      # frames of a stream that ran to its end, indexes 0..frames-1
    notices: tuple[str, ...]         # Notice codes, in the order the sign IDs were sent


def expected_stream(lexicon: Lexicon, config: pb.SessionConfig, sign_ids: Iterable[str | Text]) -> Expected:
    """Frames and notices of a completed Synthesize stream that sends `sign_ids` (sign IDs, or Texts
    glossed as the session glosses them, letters joined as it joins them) after `config` (a valid
    config without a style image: a refused one delivers nothing)."""
    spec = spec_from_config(config)
    if spec.style_image:
        raise ValueError("expected_stream works out streams without a style image only")
    clips, notices = [], []

    def add(sign_id: str, step: Step | None = None) -> None:
        try:
            clip = lexicon.get_clip(sign_id)
        except (InvalidSignId, UnknownSign, CorruptClip, StoreUnavailable) as exc:
            notices.append(exc.code)
            return
        clips.append((clip.sign_id, clip.frames, clip.fps, step.join(clip.fps) if step is not None else None))

    for item in sign_ids:
        if not isinstance(item, Text):
            add(item)
            continue
        for gloss, steps in staged(gloss_message(lexicon.table, spec.spelling, item.text)):
            if gloss.code:
                notices.append(gloss.code)
            for step in steps:
                add(step.sign_id, step)
    return Expected(sentence_length(clips, on_canvas(spec, default_style()), spec.options), tuple(notices))
