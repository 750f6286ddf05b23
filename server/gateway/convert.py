"""Domain <-> proto conversions for the gRPC gateway (the packed keypoint layout, the contract in protos/): keypoints, enums, responses.

Only the generated messages are used here, no grpc. Every enum mapping lives in the tables below; a
proto enum value without an entry (proto3 enums are open, a client can send any number) is simply not
a key, so callers decide how to refuse it.
"""
from __future__ import annotations

import numpy as np

from signstream.errors import InvalidArgument
from signstream.gesture.audio import decode_pcm16
from signstream.gesture.source import Word
from signstream.gesture.spec import GestureSpec
from signstream.keypoint_proto import KEYPOINT_FIELD_SIZES, keypoints_from_proto, keypoints_to_bytes, keypoints_to_proto
from signstream.names import Encoding, Pacing, Renderer
from signstream.pipeline import FrameKind, SynthesisOptions
from signstream.spec import SessionSpec
from signstream.text.items import Text
from signstream.v1 import signstream_pb2 as pb

__all__ = [
    "ENCODING_NAMES", "ENCODING_VALUES", "PACING_NAMES", "PACING_VALUES", "RENDERER_NAMES", "RENDERER_VALUES",
    "FRAME_KINDS", "FRAME_KIND_VALUES", "KEYPOINT_FIELD_SIZES",
    "keypoints_to_bytes", "spec_from_config", "gesture_spec_from_config", "gesture_item", "synthesize_item", "keypoints_to_proto", "keypoints_from_proto", "notice_to_proto", "frame_to_proto",
]

# ---- enums: proto number -> our name, and back ------------------------------------------------------
# The domain's names (signstream.names) are the one table; a proto value's name is the member's name.
ENCODING_NAMES: dict[int, str] = {pb.Encoding.Value(m.name): m for m in Encoding}
PACING_NAMES: dict[int, str] = {pb.Pacing.Value(m.name): m for m in Pacing}
RENDERER_NAMES: dict[int, str] = {pb.Renderer.Value(m.name): m for m in Renderer}
FRAME_KINDS: dict[int, FrameKind] = {
    pb.SIGN: FrameKind.SIGN, pb.TRANSITION: FrameKind.TRANSITION, pb.INSERTED: FrameKind.INSERTED,
    pb.GESTURE: FrameKind.GESTURE,
}
ENCODING_VALUES: dict[str, int] = {name: value for value, name in ENCODING_NAMES.items()}
PACING_VALUES: dict[str, int] = {name: value for value, name in PACING_NAMES.items()}
RENDERER_VALUES: dict[str, int] = {name: value for value, name in RENDERER_NAMES.items()}
FRAME_KIND_VALUES: dict[FrameKind, int] = {kind: value for value, kind in FRAME_KINDS.items()}

# ---- requests -----------------------------------------------------------------------------------------
def spec_from_config(config: pb.SessionConfig) -> SessionSpec:
    """SessionConfig -> a validated SessionSpec. The domain resolves defaults: a count the client did
    not set (field presence) is None, an empty name "", an unknown enum number its number as text."""
    def given(name: str) -> int | None:
        return getattr(config, name) if config.HasField(name) else None

    return SessionSpec(
        style_image=config.style_image,
        options=SynthesisOptions.resolved(given("num_interpolation"), given("num_insert_interpolation"),
                                          config.normalization, config.transition, config.keypoint_filter),
        encoding=ENCODING_NAMES.get(config.encoding, str(config.encoding)),
        width=config.width, height=config.height,
        pacing=PACING_NAMES.get(config.pacing, str(config.pacing)),
        fps=float(config.fps), include_keypoints=config.include_keypoints,
        renderer=RENDERER_NAMES.get(config.renderer, str(config.renderer)),
        fingerspell=config.fingerspell,
        neural_model=config.neural_model, neural_steps=config.neural_steps, seed=config.seed,
    ).validated()


def gesture_spec_from_config(config: pb.GestureConfig) -> GestureSpec:
    """GestureConfig -> a validated GestureSpec (its session part as spec_from_config)."""
    return GestureSpec(spec_from_config(config.session), config.source, config.lookahead_ms,
                       config.sample_rate).validated()


def gesture_item(request: pb.GestureRequest, position: int) -> np.ndarray | Word:
    """A Gesture request after the config -> audio samples (InvalidAudio when they are not PCM16 within
    the limit; `position`: the audio chunk's place) or a Word."""
    if request.WhichOneof("item") == "word":
        return Word(request.word.text, request.word.start_ms, request.word.end_ms)
    return decode_pcm16(request.audio, position)


def synthesize_item(request: pb.SynthesizeRequest) -> str | Text:
    """A Synthesize request after the config -> the streaming core's item: a sign ID, or a Text."""
    if request.WhichOneof("item") == "text":
        return Text(request.text)
    return request.sign_id


# ---- responses ----------------------------------------------------------------------------------------
def notice_to_proto(code: str, sign_id: str | None, message: str) -> pb.SynthesizeResponse:
    """A Notice response (e.g. code UNKNOWN_SIGN: that sign was skipped, the stream goes on)."""
    return pb.SynthesizeResponse(notice=pb.Notice(code=code, sign_id=sign_id or "", message=message))


def frame_to_proto(
    index: int,
    sign_id: str | None,
    kind: FrameKind | int,
    image: bytes,
    encoding: str,
    width: int,
    height: int,
    keypoints: np.ndarray | None = None,
    fps: float = 0.0,
    seed: int = 0,
    renderer: str = Renderer.SKELETON,
    neural_steps: int = 0,
) -> pb.SynthesizeResponse:
    """A Frame response. `encoding` is our name ("jpeg", ..., "none"); `keypoints` a packed (K, 3) frame
    or None to leave the field unset. Raises InvalidArgument (field "encoding") for an unknown name."""
    try:
        encoding_value = ENCODING_VALUES[encoding]
    except KeyError:
        raise InvalidArgument(f"unknown frame encoding {encoding!r}; use one of {', '.join(ENCODING_VALUES)}",
                              field="encoding") from None
    frame = pb.Frame(
        index=int(index), sign_id=sign_id or "", kind=FRAME_KIND_VALUES[FrameKind(int(kind))], image=image,
        encoding=encoding_value, width=int(width), height=int(height), fps=float(fps),
        seed=int(seed), renderer=RENDERER_VALUES[Renderer(renderer)], neural_steps=int(neural_steps),
    )
    if keypoints is not None:
        frame.keypoints.MergeFromString(keypoints_to_bytes(keypoints))
    return pb.SynthesizeResponse(frame=frame)
