"""The soak's expected frame count and notices (`bench.expect`) against what actually runs in-process:
`pipeline.synthesize` on the demo lexicon's clips, and the gateway's own synthesis session (which skips
invalid and unknown IDs with a Notice), for several sentences and interpolation settings."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from signstream.bench.expect import expected_stream
from signstream.config import Settings
from signstream.gateway.convert import spec_from_config
from signstream.lexicon import open_lexicon
from signstream.pipeline import synthesize
from signstream.outputs import FrameOut
from signstream.session import open_synthesis
from signstream.spec import on_canvas
from signstream.style import default_style
from signstream.v1 import signstream_pb2 as pb

SENTENCES = [
    ["¶hello"],
    ["¶hello", "¶name", "¶thank-you"],
    ["friend", "¶friend", "good", "yes", "no", "where"],            # a sign twice, IDs without ¶
    ["../x", "¶hello", "¶nope", "a/b", "\x00", "¶name", "x" * 10_000, ""],
    ["¶unknown-only", "¶¶hello"],                                     # nothing valid: no frame at all
]
SETTINGS = [(0, 0), (2, 0), (8, 1), (12, 2), (120, 8)]               # (num_interpolation, num_insert); 0 -> 8


@pytest.fixture(scope="module")
def lexicon(demo_lexicon_dir):
    return open_lexicon(Settings(lexicon=str(demo_lexicon_dir)))


def _config(n: int, m: int, transition: str) -> pb.SessionConfig:
    return pb.SessionConfig(encoding=pb.NONE, width=64, height=64, num_interpolation=n, num_insert_interpolation=m,
                            transition=transition)


def _pipeline_frames(lexicon, config: pb.SessionConfig, sign_ids: list[str]) -> int:
    """Frames of the valid, known signs, synthesized by the batch pipeline."""
    clips = []
    for sign_id in sign_ids:
        try:
            clips.append((sign_id, lexicon.get_clip(sign_id).frames))
        except Exception:  # noqa: BLE001 - skipped, as the stream skips it
            continue
    spec = spec_from_config(config)
    chunks = synthesize(clips, on_canvas(spec, default_style()), spec.options)
    return sum(len(chunk) for chunk in chunks)


async def _session(lexicon, config: pb.SessionConfig, sign_ids: list[str]) -> tuple[list[int], list[str]]:
    """(frame indexes, notice codes) the gateway's session produces for the sentence."""
    with ThreadPoolExecutor(2) as executor:
        session = await open_synthesis(spec_from_config(config), lexicon, None, executor)
        indexes, notices = [], []
        try:
            for outputs in [session.add(sign_id) for sign_id in sign_ids] + [session.finish()]:
                async for out in outputs:            # finish: what smooth joins held back, as the servicer
                    if isinstance(out, FrameOut):
                        indexes.append(out.index)
                    else:
                        notices.append(out.code)
        finally:
            session.close()
    return indexes, notices


@pytest.mark.parametrize("transition", ["smooth", "linear"])
@pytest.mark.parametrize("n, m", SETTINGS)
@pytest.mark.parametrize("sentence", range(len(SENTENCES)))
def test_expected_count_is_what_the_pipeline_makes(lexicon, sentence, n, m, transition):
    sign_ids, config = SENTENCES[sentence], _config(n, m, transition)
    expected = expected_stream(lexicon, config, sign_ids)
    assert expected.frames == _pipeline_frames(lexicon, config, sign_ids)


@pytest.mark.parametrize("transition", ["smooth", "linear"])
@pytest.mark.parametrize("n, m", [(0, 0), (3, 1)])
@pytest.mark.parametrize("sentence", range(len(SENTENCES)))
def test_expected_frames_and_notices_are_what_the_session_streams(lexicon, sentence, n, m, transition):
    sign_ids, config = SENTENCES[sentence], _config(n, m, transition)
    expected = expected_stream(lexicon, config, sign_ids)
    indexes, notices = asyncio.run(_session(lexicon, config, sign_ids))
    assert indexes == list(range(expected.frames))
    assert tuple(notices) == expected.notices


def test_the_expectation_is_not_trivially_met(lexicon):
    """The count depends on every setting it should: clip lengths, n (unset meaning 8, 0 none) and m; with smooth
    transitions (the default) also the motion: joins trim frames and far junctions take longer."""
    ids = ["¶morning", "¶good"]
    t = [len(lexicon.get_clip(i).frames) for i in ids]
    def frames(n, m, tr="linear"):
        counts = {} if n is None else {"num_interpolation": n}
        return expected_stream(lexicon, pb.SessionConfig(num_insert_interpolation=m, transition=tr, **counts),
                               ids).frames
    assert frames(None, 0) == frames(8, 0) == sum(t) + 8
    assert frames(0, 0) == sum(t)
    assert frames(3, 0) == sum(t) + 3
    assert frames(3, 2) == sum(t) + 2 * (sum(t) - 2) + 3
    assert frames(None, 0, "") == frames(None, 0, "smooth") != frames(None, 0)
    assert expected_stream(lexicon, pb.SessionConfig(), ["../x", "¶nope"]).notices == ("INVALID_SIGN_ID", "UNKNOWN_SIGN")
