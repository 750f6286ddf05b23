"""What a session's config resolves to: `SessionSpec` (validated, defaults resolved), its style on
its canvas, and the frame-size check made before anything is drawn."""
from __future__ import annotations

from dataclasses import dataclass, field

from signstream.errors import InvalidArgument, LimitExceeded
from signstream.extract.base import FrameExtractor
from signstream.extract.bounded import extract_encoded
from signstream.names import Encoding, Pacing, Renderer
from signstream.pipeline import SynthesisOptions
from signstream.render.encode import worst_frame_bytes
from signstream.render.renderer import RENDERERS
from signstream.style import MAX_CANVAS_SIDE, Style, default_style, fit_canvas, style_from_frame
from signstream.text.fingerspell import SpellingRules

MAX_SIDE = MAX_CANVAS_SIDE           # output width/height limit (README "Limits")
MAX_FPS = 120.0
DEFAULT_FPS = 25.0                   # when neither the config nor a clip gives one (Retarget)


def _choices(field_name: str, value: str, allowed) -> None:
    if value not in allowed:
        raise InvalidArgument(f"{field_name} {value!r} is not available; use one of {', '.join(allowed)}",
                              field=field_name)


@dataclass(frozen=True)
class SessionSpec:
    """A validated session configuration. Width/height 0: the style image's canvas (1024 without
    one); fps 0: the lexicon's (the first sign's clip); options resolve their own defaults."""

    style_image: bytes = b""
    options: SynthesisOptions = field(default_factory=SynthesisOptions)
    encoding: str = Encoding.JPEG
    width: int = 0
    height: int = 0
    pacing: str = Pacing.ASAP
    fps: float = 0.0
    include_keypoints: bool = False
    renderer: str = Renderer.SKELETON
    fingerspell: str = ""                # text items: "" (names), "names", "unknown", "never"

    def validated(self) -> "SessionSpec":
        """Self, or InvalidArgument naming the field, its value and the limit."""
        self.options.validated()
        self.spelling
        _choices("encoding", self.encoding, [e.value for e in Encoding])
        _choices("pacing", self.pacing, [p.value for p in Pacing])
        _choices("renderer", self.renderer, list(RENDERERS))        # the renderers this server has
        for name in ("width", "height"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_SIDE:
                raise InvalidArgument(f"{name} must be 1..{MAX_SIDE} (0 = the style image's), got {value}",
                                      field=name)
        if not (self.fps == 0 or 1.0 <= self.fps <= MAX_FPS) or self.fps != self.fps:
            raise InvalidArgument(f"fps must be 1..{MAX_FPS:g} (0 = the lexicon's), got {self.fps}", field="fps")
        return self

    @property
    def spelling(self) -> SpellingRules:
        """How text items fingerspell (InvalidArgument naming `fingerspell` for an unknown policy)."""
        return SpellingRules.resolved(self.fingerspell)

    @property
    def wants_keypoints(self) -> bool:
        return self.include_keypoints or self.encoding == Encoding.NONE


async def load_style(spec: SessionSpec, extractor: FrameExtractor) -> Style:
    """The style character from the config's image (decoded in a thread, extracted by `extractor`),
    or the defaults without one; the canvas is the config's size where given."""
    if not spec.style_image:
        return on_canvas(spec, default_style())
    frame, (width, height) = await extract_encoded(extractor, spec.style_image)
    return on_canvas(spec, style_from_frame(frame, width, height))


def on_canvas(spec: SessionSpec, style: Style) -> Style:
    """The style on the config's canvas where it gives one, else on its own, scaled down to at most
    MAX_SIDE a side (style.fit_canvas)."""
    return fit_canvas(style, spec.width, spec.height)


def check_frame_size(spec: SessionSpec, width: int, height: int, max_frame_bytes: int | None) -> None:
    """LimitExceeded before anything is rendered when a frame of this stream could be larger than one
    message may be (`max_frame_bytes`, None = no limit): RAW_RGB at the largest canvas is 48 MiB."""
    if max_frame_bytes is None:
        return
    need = worst_frame_bytes(spec.encoding, width, height, spec.wants_keypoints)
    if need > max_frame_bytes:
        raise LimitExceeded(
            f"{spec.encoding} frames of {width}x{height} can take up to {need / 2**20:.1f} MiB, over the "
            f"server's {max_frame_bytes / 2**20:.1f} MiB message limit: ask for a smaller width/height or "
            "another encoding", field="encoding")
