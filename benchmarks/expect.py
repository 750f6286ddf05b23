"""What a Synthesize stream must deliver, worked out from the lexicon without a server: the number of
frames and the notices, in order. The soak and the cancel-storm test check every completed stream
against this.

    expected = expected_stream(lexicon, config, ["¶hello", "../x", "¶nope", "¶name"])
    expected.frames    # output_length([T_hello, T_name], n, m): Σ(Tᵢ + (Tᵢ−1)·m) + (N−1)·n
    expected.notices   # ("INVALID_SIGN_ID", "UNKNOWN_SIGN")

The config is read by the gateway's own `spec_from_config` (so 0 means 8 transition frames exactly
as the server takes it), the IDs are looked up with the lexicon's own `get_clip` (an invalid ID or an
unknown sign becomes its notice and adds no frames, as the session skips it), and the count is
`pipeline.output_length`, the one place the formula lives.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from signstream.errors import CorruptClip, InvalidSignId, StoreUnavailable, UnknownSign
from signstream.gateway.servicer import spec_from_config
from signstream.lexicon import Lexicon
from signstream.pipeline import output_length
from signstream.v1 import signstream_pb2 as pb


@dataclass(frozen=True)
class Expected:
    frames: int                      # frames of a stream that ran to its end, indexes 0..frames-1
    notices: tuple[str, ...]         # Notice codes, in the order the sign IDs were sent


def expected_stream(lexicon: Lexicon, config: pb.SessionConfig, sign_ids: Iterable[str]) -> Expected:
    """Frames and notices of a completed Synthesize stream that sends `sign_ids` after `config`
    (a valid config: a refused one delivers nothing)."""
    options = spec_from_config(config).options
    lengths, notices = [], []
    for sign_id in sign_ids:
        try:
            lengths.append(len(lexicon.get_clip(sign_id).frames))
        except (InvalidSignId, UnknownSign, CorruptClip, StoreUnavailable) as exc:
            notices.append(exc.code)
    return Expected(output_length(lengths, options.num_interpolation, options.num_insert_interpolation),
                    tuple(notices))
