"""The viewer's WebSocket protocol: JSON text messages in, frames (binary) and JSON text out.

Client -> server, in this order:

    {"type": "config", "encoding": "h264", "pacing": "asap", ..., "style_image_bytes": N}
    <one binary message of exactly N bytes: the style image>          (only when N > 0)
    {"type": "sign", "sign_id": "¶hello"}                             (any number, any time)
    {"type": "text", "text": "Hi, I'm Tom!"}                          (glossed into signs, README "Text input")
    {"type": "end"}                                                   (no more signs: flush and finish)

Server -> client:

    <binary> frame: 4-byte big-endian length L, L bytes of JSON header
             {"index", "sign_id", "kind", "width", "height", "fps", "encoding"}, then the picture
             (one H.264 Annex-B access unit, or one JPEG/PNG, or raw RGB)
    {"type": "notice", "code": "UNKNOWN_SIGN", "sign_id": "¶x", "message": "..."}   (the stream goes on)
    {"type": "end", "frames": N}                                      (then close 1000)
    {"type": "error", "code", "status", "field", "message"[, "retry_after_s"]}  (then close, web/closing.py)

The config's fields are SessionConfig's, with the domain's names as text (signstream.names); a
field left out takes the default, as an unset proto field does. Keypoints are not carried here (use
gRPC). Item types map to what the streaming core takes (ITEM_FIELDS: a sign ID, or a text).
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable

from signstream.errors import InvalidArgument, MalformedMessage, UnexpectedMessage
from signstream.names import Encoding
from signstream.outputs import FrameOut, NoticeOut
from signstream.pipeline import FrameKind, SynthesisOptions
from signstream.spec import SessionSpec
from signstream.text.items import Text

__all__ = ["SUBPROTOCOL", "TOKEN_PROTOCOL_PREFIX", "MAX_TEXT_BYTES", "ITEM_FIELDS", "parse", "item_of",
           "spec_from_config", "style_image_size", "frame_message", "notice_message", "end_message"]

SUBPROTOCOL = "signstream.v1"               # the Sec-WebSocket-Protocol the server selects
TOKEN_PROTOCOL_PREFIX = "signstream.token."  # + base64url(token): a bearer token a browser can send (web/access.py)
MAX_TEXT_BYTES = 64 * 1024                   # one JSON message (a config, a sign)
# Message type -> (its field, what the streaming core takes of that field's text). The page sends
# {"type": "text", "text": ...} from its text box, shown when /api/info says "text" (ITEM_FIELDS has it):
# glossed by the session as SynthesizeRequest.text is (README "Text input").
ITEM_FIELDS: dict[str, tuple[str, Callable[[str], object]]] = {"sign": ("sign_id", str), "text": ("text", Text)}
PICTURE_ENCODINGS = tuple(e.value for e in Encoding if e is not Encoding.NONE)

_COUNTS = ("num_interpolation", "num_insert_interpolation", "width", "height")
_NAMES = ("encoding", "pacing", "renderer", "normalization", "transition", "keypoint_filter", "fingerspell")
_CONFIG_FIELDS = frozenset({"type", "style_image_bytes", "fps", *_COUNTS, *_NAMES})


def parse(text: str) -> dict:
    """One client text message as a JSON object with a "type"; MalformedMessage otherwise."""
    if len(text) > MAX_TEXT_BYTES:
        raise MalformedMessage(f"a text message of {len(text):,} characters is over the {MAX_TEXT_BYTES:,} this "
                               "socket takes; send JSON messages (a config, a sign), and the style image as binary")
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise MalformedMessage(f"a text message is not valid JSON ({exc.msg} at character {exc.pos}); send one "
                               'JSON object per message, e.g. {"type": "sign", "sign_id": "¶hello"}') from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise MalformedMessage('a message must be a JSON object with a "type" ("config", "sign" or "end")')
    return message


def item_of(message: dict) -> object:
    """The streaming core's item in a message of one of ITEM_FIELDS' types."""
    kind = message["type"]
    field, make = ITEM_FIELDS.get(kind, (None, None))
    if field is None:
        if kind == "config":
            raise UnexpectedMessage("a second config was sent; a stream has one, first", field="config")
        raise UnexpectedMessage(f'a message of type "{kind}" is not known here; after the config send '
                                f'{", ".join(repr(k) for k in ITEM_FIELDS)} messages, then "end"', field="type")
    value = message.get(field)
    if not isinstance(value, str):
        raise InvalidArgument(f'a "{kind}" message needs "{field}" as a string', field=field)
    return make(value)


def _count(config: dict, name: str) -> int | None:
    value = config.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name} must be a whole number, got {value!r}", field=name)
    return value


def _name(config: dict, name: str) -> str:
    value = config.get(name, "")
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a name (text), got {value!r}", field=name)
    return value


def style_image_size(config: dict, max_bytes: int) -> int:
    """How many bytes of style image follow the config (0: none)."""
    size = _count(config, "style_image_bytes") or 0
    if not 0 <= size <= max_bytes:
        raise InvalidArgument(f"style_image_bytes must be 0..{max_bytes:,} (one message), got {size:,}",
                              field="style_image")
    return size


def spec_from_config(config: dict, style_image: bytes) -> SessionSpec:
    """A config message (and the style image that followed it) -> a validated SessionSpec."""
    if config.get("type") != "config":
        raise UnexpectedMessage(f'the first message must be the config (type "config"), got "{config.get("type")}"',
                                field="config")
    unknown = sorted(set(config) - _CONFIG_FIELDS)
    if unknown:
        raise InvalidArgument(f"config field {unknown[0]!r} is not known; the fields are "
                              f"{', '.join(sorted(_CONFIG_FIELDS - {'type'}))}", field=unknown[0])
    fps = config.get("fps", 0)
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps):
        raise InvalidArgument(f"fps must be a number, got {fps!r}", field="fps")
    n, m, width, height = (_count(config, name) for name in _COUNTS)
    encoding = _name(config, "encoding") or Encoding.H264
    if encoding not in PICTURE_ENCODINGS:
        raise InvalidArgument(f"encoding {encoding!r} is not available on this socket; use one of "
                              f"{', '.join(PICTURE_ENCODINGS)} (keypoints: use the gRPC API)", field="encoding")
    return SessionSpec(
        style_image=style_image,
        options=SynthesisOptions.resolved(n, m, _name(config, "normalization"), _name(config, "transition"),
                                          _name(config, "keypoint_filter")),
        encoding=encoding, width=width or 0, height=height or 0,
        pacing=_name(config, "pacing") or SessionSpec.pacing, fps=float(fps),
        renderer=_name(config, "renderer") or SessionSpec.renderer, fingerspell=_name(config, "fingerspell"),
    ).validated()


def frame_message(out: FrameOut) -> bytes:
    header = json.dumps({"index": out.index, "sign_id": out.sign_id, "kind": FrameKind(int(out.kind)).name,
                         "width": out.width, "height": out.height, "fps": out.fps, "encoding": str(out.encoding)},
                        ensure_ascii=False).encode("utf-8")
    return len(header).to_bytes(4, "big") + header + out.image


def notice_message(out: NoticeOut) -> str:
    return json.dumps({"type": "notice", "code": out.code, "sign_id": out.sign_id, "message": out.message},
                      ensure_ascii=False)


def end_message(frames: int) -> str:
    return json.dumps({"type": "end", "frames": frames})
