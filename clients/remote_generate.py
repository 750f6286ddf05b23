"""`signstream generate --server H:P`: the seed's batch job through the gateway.

SKELETON: the gateway sends keypoints (encoding NONE), which travel losslessly; this side writes the
same three files with the same code as in-process generation, so the outputs match frame for frame.
NEURAL: the gateway renders (Triton draws the frames) and sends them as its H.264 stream with the
keypoints; the stream is muxed into out_video.mp4 as it is (nothing re-encoded) and the keypoints
are written as above. The frames' seed replays them; a STAND_IN_WEIGHTS notice says they are noise.
The frame rate is the stream's (the first sign's clip), where in-process generation averages every
clip's: the two differ only for a lexicon that mixes frame rates.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from signstream.clients.call_errors import call_errors
from signstream.clients.client import ChannelSecurity, SignStreamClient
from signstream.errors import InvalidArgument, InvalidSignId, UnknownSign
from signstream.keypoint_proto import keypoints_from_proto
from signstream.lexicon import canonical_sign_id
from signstream.render.h264_mux import mux_h264_to_mp4
from signstream.results import SentenceFrames, write_results
from signstream.v1 import signstream_pb2 as pb

# Notices about the stream's rendering, not its signs: reported, never a reason to write nothing.
RENDERING_NOTICES = ("STAND_IN_WEIGHTS", "RENDERER_DEGRADED", "RENDERER_RECOVERED")


@dataclass
class RemoteResult:
    paths: dict[str, Path]
    sentence: SentenceFrames
    first: pb.Frame                                   # size, fps, renderer, seed, steps
    seconds: dict[str, float]
    notices: list[pb.Notice] = field(default_factory=list)    # the rendering notices, in order

    @property
    def noise(self) -> bool:
        """The frames came from random-weight stand-ins (the gateway said so)."""
        return any(n.code == "STAND_IN_WEIGHTS" for n in self.notices)


def rendering_notices(responses: list[pb.SynthesizeResponse]) -> list[pb.Notice]:
    return [r.notice for r in responses if r.WhichOneof("kind") == "notice" and r.notice.code in RENDERING_NOTICES]


def sentence_from_responses(responses: list[pb.SynthesizeResponse]) -> tuple[SentenceFrames, pb.Frame]:
    """A whole stream's keypoints as a SentenceFrames, and its first frame (size, fps). Any notice
    about a sign (one skipped) is an error: as in-process, nothing is written for a sentence with bad
    IDs. Notices about the rendering (RENDERING_NOTICES) are not."""
    notices = [r.notice for r in responses if r.WhichOneof("kind") == "notice" and r.notice.code not in RENDERING_NOTICES]
    if notices:
        kind = InvalidSignId if all(n.code == "INVALID_SIGN_ID" for n in notices) else UnknownSign
        raise kind("; ".join(f"{n.sign_id}: {n.message}" for n in notices), field="sign_ids")
    frames = [r.frame for r in responses if r.WhichOneof("kind") == "frame"]
    if not frames:
        raise InvalidArgument("the gateway sent no frames for this sentence", field="sign_ids")
    if not all(f.HasField("keypoints") for f in frames):
        raise InvalidArgument("the stream carried no keypoints: ask for include_keypoints or encoding NONE")
    sentence = SentenceFrames(
        frames=np.stack([keypoints_from_proto(f.keypoints) for f in frames]),
        kinds=np.array([f.kind for f in frames], dtype=np.uint8),
        sign_ids=np.array([canonical_sign_id(f.sign_id) for f in frames]).astype(str),
    )
    return sentence, frames[0]


def h264_of(responses: list[pb.SynthesizeResponse]) -> bytes:
    """An H.264 stream's frames, concatenated (Annex-B): the whole video as the gateway encoded it."""
    return b"".join(r.frame.image for r in responses if r.WhichOneof("kind") == "frame")


async def generate_remote(server: str, config: pb.SessionConfig, sign_ids: list[str], out_dir: str | Path,
                          progress: bool = False, security: ChannelSecurity = ChannelSecurity()) -> RemoteResult:
    """Stream the sentence (keypoints only; NEURAL: the gateway's H.264 frames and keypoints), then
    write the results. `security`: TLS and bearer token for a gateway that requires them."""
    neural = config.renderer == pb.NEURAL
    if neural:
        config.encoding, config.include_keypoints = pb.H264, True
    else:
        config.encoding = pb.NONE
    t0 = time.perf_counter()
    async with SignStreamClient(server, security=security) as client, call_errors(client):
        responses = await client.synthesize_all(config, sign_ids)
    sentence, first = sentence_from_responses(responses)
    seconds = {"stream": time.perf_counter() - t0}
    t1 = time.perf_counter()
    video = None
    if neural:
        data = h264_of(responses)
        video = lambda path: mux_h264_to_mp4(data, path, first.fps)  # noqa: E731 - the gateway's frames, as they are
    paths = write_results(out_dir, sentence, first.fps, first.width, first.height, progress=progress, video=video)
    seconds["mux" if neural else "write"] = time.perf_counter() - t1
    return RemoteResult(paths, sentence, first, seconds, rendering_notices(responses))
