"""`signstream generate --server H:P`: the seed's batch job through the gateway.

The gateway sends keypoints (encoding NONE), which travel losslessly; this side writes the same
three files with the same code as in-process generation, so the outputs match frame for frame.
The frame rate is the stream's (the first sign's clip), where in-process generation averages every
clip's: the two differ only for a lexicon that mixes frame rates.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from signstream.clients.call_errors import call_errors
from signstream.clients.client import ChannelSecurity, SignStreamClient
from signstream.errors import InvalidArgument, InvalidSignId, UnknownSign
from signstream.keypoint_proto import keypoints_from_proto
from signstream.lexicon import canonical_sign_id
from signstream.results import SentenceFrames, write_results
from signstream.v1 import signstream_pb2 as pb


def sentence_from_responses(responses: list[pb.SynthesizeResponse]) -> tuple[SentenceFrames, pb.Frame]:
    """A whole stream's keypoints as a SentenceFrames, and its first frame (size, fps). Any notice
    (a skipped sign) is an error: as in-process, nothing is written for a sentence with bad IDs."""
    notices = [r.notice for r in responses if r.WhichOneof("kind") == "notice"]
    if notices:
        kind = InvalidSignId if all(n.code == "INVALID_SIGN_ID" for n in notices) else UnknownSign
        raise kind("; ".join(f"{n.sign_id}: {n.message}" for n in notices), field="sign_ids")
    frames = [r.frame for r in responses]
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


async def generate_remote(server: str, config: pb.SessionConfig, sign_ids: list[str], out_dir: str | Path,
                          progress: bool = False, security: ChannelSecurity = ChannelSecurity(),
                          ) -> tuple[dict[str, Path], SentenceFrames, float, dict[str, float]]:
    """Stream the sentence (keypoints only), then write the results; (paths, frames, fps, seconds).
    `security`: TLS and bearer token for a gateway that requires them."""
    config.encoding = pb.NONE
    t0 = time.perf_counter()
    async with SignStreamClient(server, security=security) as client, call_errors(client):
        responses = await client.synthesize_all(config, sign_ids)
    sentence, first = sentence_from_responses(responses)
    seconds = {"stream": time.perf_counter() - t0}
    t1 = time.perf_counter()
    fps = first.fps
    paths = write_results(out_dir, sentence, fps, first.width, first.height, progress=progress)
    seconds["write"] = time.perf_counter() - t1
    return paths, sentence, fps, seconds
