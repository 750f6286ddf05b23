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
NEURAL_MODELS = ("", "pose2img")    # "" = the diffusion renderer (`renderer` in Triton); "pose2img": one pass a frame
NEURAL_STEPS = (0, 1, 2, 4)         # sampler steps a frame; 0 = DEFAULT_NEURAL_STEPS
DEFAULT_NEURAL_STEPS = 1
NEURAL_MAX_SIDE = 1024              # a NEURAL frame's largest side (the engines' profiles stop at 768..1024)
NEURAL_SIDE_MULTIPLE = 8            # a NEURAL frame's sides are multiples of 8 (the latent is 1/8 of it)
MAX_SEED = 2**64 - 1
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
    neural_model: str = ""               # NEURAL: "" (diffusion) or "pose2img"
    neural_steps: int = 0                # NEURAL diffusion: sampler steps a frame (0 = DEFAULT_NEURAL_STEPS)
    seed: int = 0                        # NEURAL: the noise seed (0 = a random one, chosen at open)

    def validated(self) -> "SessionSpec":
        """Self, or InvalidArgument naming the field, its value and the limit."""
        self.options.validated()
        self.spelling
        _choices("encoding", self.encoding, [e.value for e in Encoding])
        _choices("pacing", self.pacing, [p.value for p in Pacing])
        # the drawing renderers this server has, and NEURAL (a model renderer, on Triton)
        _choices("renderer", self.renderer, list(dict.fromkeys([*RENDERERS, Renderer.NEURAL.value])))
        self._validate_neural()
        for name in ("width", "height"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_SIDE:
                raise InvalidArgument(f"{name} must be 1..{MAX_SIDE} (0 = the style image's), got {value}",
                                      field=name)
        if not (self.fps == 0 or 1.0 <= self.fps <= MAX_FPS) or self.fps != self.fps:
            raise InvalidArgument(f"fps must be 1..{MAX_FPS:g} (0 = the lexicon's), got {self.fps}", field="fps")
        return self

    def _validate_neural(self) -> None:
        if not 0 <= self.seed <= MAX_SEED:
            raise InvalidArgument(f"seed must be 0 (random) .. 2^64-1, got {self.seed}", field="seed")
        if self.renderer != Renderer.NEURAL:
            for name in ("neural_model", "neural_steps"):
                if getattr(self, name):
                    raise InvalidArgument(f"{name} is for renderer NEURAL only (this stream renders "
                                          f"{self.renderer.upper()}); leave it unset or set renderer NEURAL",
                                          field=name)
            return
        if self.neural_model not in NEURAL_MODELS:
            raise InvalidArgument(f"neural_model {self.neural_model!r} is not available; use \"\" (the diffusion "
                                  "renderer) or \"pose2img\"", field="neural_model")
        if self.neural_steps not in NEURAL_STEPS:
            raise InvalidArgument(f"neural_steps must be 0 (default {DEFAULT_NEURAL_STEPS}), 1, 2 or 4, got "
                                  f"{self.neural_steps}", field="neural_steps")
        if self.neural_model == "pose2img" and self.neural_steps:
            raise InvalidArgument("neural_steps is for the diffusion renderer; pose2img draws a frame in one pass: "
                                  "leave neural_steps unset", field="neural_steps")
        if not self.style_image:
            raise InvalidArgument("renderer NEURAL draws the person of the style image: send style_image "
                                  "(a photo of the signer, JPEG or PNG)", field="style_image")
        for name in ("width", "height"):
            value = getattr(self, name)
            if value % NEURAL_SIDE_MULTIPLE or value > NEURAL_MAX_SIDE:
                raise InvalidArgument(f"{name} must be a multiple of {NEURAL_SIDE_MULTIPLE} up to {NEURAL_MAX_SIDE} "
                                      f"for renderer NEURAL (0 = the style image's, fitted), got {value}", field=name)
        if self.encoding == Encoding.NONE:
            raise InvalidArgument("encoding NONE sends keypoints only, nothing is rendered: use renderer "
                                  "SKELETON with it, or another encoding", field="encoding")

    @property
    def steps(self) -> int:
        """NEURAL diffusion: the sampler steps a frame asks for (the default when unset)."""
        return self.neural_steps or DEFAULT_NEURAL_STEPS

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
    MAX_SIDE a side (style.fit_canvas). NEURAL: a side taken from the style image is scaled (aspect
    kept) to at most NEURAL_MAX_SIDE and rounded down to a multiple of NEURAL_SIDE_MULTIPLE."""
    if spec.renderer != Renderer.NEURAL:
        return fit_canvas(style, spec.width, spec.height)
    taken = [side for side, given in ((style.width, spec.width), (style.height, spec.height)) if not given]
    scale = min([1.0] + [NEURAL_MAX_SIDE / side for side in taken])

    def side(given: int, own: int) -> int:
        return given or max(NEURAL_SIDE_MULTIPLE, int(own * scale) // NEURAL_SIDE_MULTIPLE * NEURAL_SIDE_MULTIPLE)

    return fit_canvas(style, side(spec.width, style.width), side(spec.height, style.height))


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
