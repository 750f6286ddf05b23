"""SynthesizeRequest.text over real gRPC: a text streams what text2signs glosses it to, frame for frame
as the in-process sentence of its signs and letters (letter joins and hold included), the same frames
as sending those sign IDs when it has no letters, the Notices in the order of the words, the
fingerspell policy from the config, and the frame-count rule (benchmarks/expect.py) holds for texts."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest

from signstream.bench.expect import expected_stream
from signstream.clients.client import SignStreamClient
from signstream.config import Settings
from signstream.extract.base import LocalExtractor
from signstream.gateway.convert import keypoints_from_proto
from signstream.lexicon import open_lexicon
from signstream.pipeline import synthesize
from signstream.results import SentenceFrames
from signstream.style import default_style
from signstream.text import Text, gloss_message, plan, vocabulary_of, Glosser
from signstream.text.fingerspell import SpellingRules
from signstream.gateway.convert import spec_from_config
from signstream.v1 import signstream_pb2 as pb
from tests.support.gateway import GatewayThread, read_all

TEXT = "Hi Tom, thank you for the help! 👋 Where is Zoë?"


@pytest.fixture(scope="module")
def lexicon(demo_lexicon_dir):
    return open_lexicon(Settings(lexicon=str(demo_lexicon_dir)))


@pytest.fixture(scope="module")
def gateway(demo_lexicon_dir):
    running = GatewayThread(open_lexicon(Settings(lexicon=str(demo_lexicon_dir))), LocalExtractor()).start()
    yield running
    running.stop()


def stream(gateway, config: pb.SessionConfig, items: list) -> tuple[list, list, object]:
    """(frames, notices, error) of one Synthesize call sending `items` (Text or sign IDs) at once."""
    async def main():
        async with SignStreamClient(gateway.target) as client:
            call = client.synthesize(config)
            for item in items:
                await (call.send_text(item.text) if isinstance(item, Text) else call.send(item))
            await call.done_sending()
            return await read_all(call)

    responses, error = asyncio.run(main())
    frames = [r.frame for r in responses if r.WhichOneof("kind") == "frame"]
    notices = [r.notice for r in responses if r.WhichOneof("kind") == "notice"]
    return frames, notices, error


def in_process(lexicon, config: pb.SessionConfig, text: str) -> SentenceFrames:
    """The sentence text2signs's plan makes in process: each sign's clip with its letter join."""
    spec = spec_from_config(config)
    clips = []
    for step in plan(gloss_message(lexicon.table, spec.spelling, text)):
        clip = lexicon.get_clip(step.sign_id)
        clips.append((clip.sign_id, clip.frames, clip.fps, step.join(clip.fps)))
    return SentenceFrames.from_chunks(synthesize(clips, default_style(), spec.options))


def distinct(ids: list[str]) -> list[str]:
    return [s for i, s in enumerate(ids) if i == 0 or ids[i - 1] != s]


@pytest.mark.parametrize("transition", ["smooth", "linear"])
def test_text_streams_the_in_process_sentence_of_text2signs_frame_for_frame(gateway, lexicon, transition):
    config = pb.SessionConfig(encoding=pb.NONE, transition=transition, num_interpolation=6)
    frames, notices, error = stream(gateway, config, [Text(TEXT)])
    assert error is None
    whole = in_process(lexicon, config, TEXT)
    assert [f.index for f in frames] == list(range(len(whole.frames)))
    np.testing.assert_array_equal(np.stack([keypoints_from_proto(f.keypoints) for f in frames]), whole.frames)
    assert [f.kind for f in frames] == list(whole.kinds)
    ids = "¶hello ¶fs-t ¶fs-o ¶fs-m ¶thank-you ¶help ¶where ¶fs-z ¶fs-o ¶fs-e".split()   # text2signs --ids
    assert distinct([f.sign_id for f in frames]) == ids
    assert [n.code for n in notices] == ["UNKNOWN_SYMBOL", "LETTERS_REPLACED"]
    assert "👋" in notices[0].message and "ë as E" in notices[1].message
    m_frames = [f for f in frames if f.sign_id == "¶fs-m"]
    assert [f.kind for f in m_frames[:3]] == [pb.TRANSITION] * 3            # letters join in 3 frames
    assert len(m_frames) == 3 + 10 + 8                                       # ... and the last one is held


def test_a_text_without_letters_is_the_same_stream_as_its_sign_ids(gateway):
    config = pb.SessionConfig(encoding=pb.NONE, num_interpolation=4)
    by_text, _, _ = stream(gateway, config, [Text("Good morning, friend! Thanks for the help.")])
    by_ids, _, _ = stream(gateway, config, ["¶good", "¶morning", "¶friend", "¶thank-you", "¶help"])
    assert len(by_text) == len(by_ids) > 100
    assert [(f.index, f.sign_id, f.kind, f.keypoints) for f in by_text] == \
        [(f.index, f.sign_id, f.kind, f.keypoints) for f in by_ids]


def test_texts_and_sign_ids_mix_and_notices_keep_the_stream_going(gateway, lexicon):
    config = pb.SessionConfig(encoding=pb.NONE, transition="linear", num_interpolation=3)
    items = ["¶yes", Text("zebra!"), Text(""), Text("Hello Ann"), "¶nope", Text("x" * 5000), "¶no"]
    frames, notices, error = stream(gateway, config, items)
    assert error is None
    assert [n.code for n in notices] == ["UNKNOWN_WORD", "EMPTY_TEXT", "UNKNOWN_SIGN", "TEXT_TOO_LONG"]
    assert "zebra" in notices[0].message and "fingerspell" in notices[0].message
    assert distinct([f.sign_id for f in frames]) == ["¶yes", "¶hello", "¶fs-a", "¶fs-n", "¶no"]
    expected = expected_stream(lexicon, config, items)                    # the frame-count rule, texts included
    assert expected.frames == len(frames) and expected.notices == tuple(n.code for n in notices)


def test_the_fingerspell_policy_comes_from_the_config(gateway):
    never, notices, _ = stream(gateway, pb.SessionConfig(encoding=pb.NONE, fingerspell="never"), [Text("Hello Tom")])
    assert distinct([f.sign_id for f in never]) == ["¶hello"] and notices[0].code == "UNKNOWN_WORD"
    unknown, _, _ = stream(gateway, pb.SessionConfig(encoding=pb.NONE, fingerspell="unknown"), [Text("hello ox")])
    assert distinct([f.sign_id for f in unknown]) == ["¶hello", "¶fs-o", "¶fs-x"]
    frames, _, error = stream(gateway, pb.SessionConfig(encoding=pb.NONE, fingerspell="often"), [Text("hello")])
    assert not frames and error.code().name == "INVALID_ARGUMENT"
    assert error.details().startswith("fingerspell 'often' is not known; choose one of names, unknown, never")


def test_smooth_frame_counts_of_texts(gateway, lexicon):
    config = pb.SessionConfig(encoding=pb.NONE, num_interpolation=8)
    items = [Text("Hi Priya, where is Jo?")]
    frames, _, _ = stream(gateway, config, items)
    assert expected_stream(lexicon, config, items).frames == len(frames)


def test_text2signs_and_the_stream_gloss_alike(lexicon):
    glosser = Glosser(vocabulary_of(lexicon.table), SpellingRules())
    assert plan(glosser.gloss(TEXT)) == plan(gloss_message(lexicon.table, SpellingRules(), TEXT))


def test_signstream_stream_sends_texts(gateway, capsys):
    from signstream.cli import main

    assert main(["stream", "--server", gateway.target, "--encoding", "NONE", "--text", "Hello Tom!", "¶yes"]) == 0
    out = capsys.readouterr()
    ids = [line.split()[2] for line in out.out.splitlines() if line.startswith("frame ")]
    assert distinct(ids) == ["¶hello", "¶fs-t", "¶fs-o", "¶fs-m", "¶yes"]
    assert main(["stream", "--server", gateway.target, "--encoding", "NONE", "--fingerspell", "never",
                 "--text", "Hello Tom!"]) == 0
    out = capsys.readouterr()
    assert "notice  UNKNOWN_WORD" in out.err and "¶fs-t" not in out.out
    assert main(["stream", "--server", gateway.target]) == 2
    assert "nothing to stream" in capsys.readouterr().err
