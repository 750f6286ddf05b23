"""Batch generation (the seed's job, in-process): sign IDs -> results folder.

Cheap checks come first so that nothing is extracted, rendered or written for a request that
cannot succeed: options and rendering fields, sign-ID syntax, lexicon membership, then (NEURAL) a
Triton whose renderer is ready, then the style image.

Renderer NEURAL draws out_video.mp4 through Triton's `renderer` (or `pose2img`) exactly as a NEURAL
stream does (the same lease, the same renderer, ASAP: never degraded), with the style photo as the
reference; its seed (a random one for 0) and whether Triton's models are random-weight stand-ins
(the frames are then noise) come back in the result.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from signstream.errors import InvalidArgument, InvalidSignId, SignStreamError, UnknownSign
from signstream.kernels.warmup import warm_up
from signstream.lexicon import Lexicon, canonical_sign_id, display_sign_id
from signstream.names import Renderer
from signstream.pipeline import SynthesisOptions, synthesize
from signstream.render import frame_rate_from_clips
from signstream.results import SentenceFrames, write_results
from signstream.spec import SessionSpec, on_canvas
from signstream.style import Style, decode_style_image, default_style, fit_canvas, read_style_bytes, style_from_image

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerateRequest:
    sign_ids: tuple[str, ...]
    options: SynthesisOptions = SynthesisOptions()
    style_image_path: str | None = None
    allow_default_style: bool = False
    out_dir: str = "results"
    progress: bool = True
    triton_url: str | None = None     # extract the style image (and render NEURAL) through this Triton
    renderer: str = Renderer.SKELETON
    neural_model: str = ""            # NEURAL: "" (diffusion) or "pose2img"
    neural_steps: int = 0             # NEURAL diffusion: sampler steps a frame (0: the default)
    seed: int = 0                     # NEURAL: 0 = a random one (reported in the result)
    width: int = 0                    # 0: the style image's canvas (NEURAL: fitted to its limits)
    height: int = 0

    def spec(self, style_image: bytes = b"") -> SessionSpec:
        """The rendering fields as a stream's config carries them, validated the same way
        (InvalidArgument naming the field); `style_image` is the style photo's bytes."""
        return SessionSpec(style_image=style_image, options=self.options, renderer=self.renderer,
                           neural_model=self.neural_model, neural_steps=self.neural_steps, seed=self.seed,
                           width=self.width, height=self.height).validated()


@dataclass(frozen=True)
class GenerateResult:
    paths: dict[str, Path]
    num_frames: int
    fps: float
    width: int
    height: int
    style: Style
    seconds: dict[str, float] = field(default_factory=dict)
    renderer: str = Renderer.SKELETON
    seed: int = 0                     # NEURAL: the seed the frames were drawn with (replays them)
    neural_steps: int = 0
    noise: bool = False               # NEURAL on random-weight stand-ins: the video is noise


def checked_sign_ids(raw_ids: tuple[str, ...], lexicon: Lexicon) -> list[str]:
    """All IDs canonical and in the lexicon, or one error naming every bad ID of every kind: the
    invalid ones (an InvalidSignId), then the unknown ones (an UnknownSign when all bad IDs are unknown).
    Invalid IDs never reach the lexicon; should it be unusable, they are still reported as invalid."""
    if not raw_ids:
        raise InvalidSignId("no sign IDs given: pass --sign_ids ¶id_1 ¶id_2 ...", field="sign_ids")
    good, invalid = [], []
    for raw in raw_ids:
        try:
            good.append(canonical_sign_id(raw))
        except InvalidSignId as exc:
            invalid.append(exc.message)
    problems = ["invalid sign IDs: " + "; ".join(invalid)] if invalid else []
    try:
        unknown = lexicon.missing(good)
    except SignStreamError as exc:
        if not invalid:
            raise
        unknown = []
        problems.append(f"the other IDs could not be looked up: {exc.message}")
    if unknown:
        problems.append(f"unknown sign IDs: {', '.join(unknown)} (see `signstream lexicon list {lexicon.location}`)")
    if invalid:
        raise InvalidSignId("; also ".join(problems), field="sign_ids")
    if unknown:
        raise UnknownSign(problems[0], sign_id=unknown[0])
    return good


def load_style(path: str | None, allow_default: bool, triton_url: str | None = None,
               data: bytes | None = None) -> Style:
    """The style character of the photo at `path` (its bytes `data` when already read), on its own
    canvas; the defaults without one."""
    if path is None:
        return default_style()
    from signstream.extract.base import extract_once, open_extractor  # MediaPipe loads only when needed

    rgb = decode_style_image(read_style_bytes(path) if data is None else data, name=f"style image {Path(path)}")
    frame, _ = asyncio.run(extract_once(rgb, open_extractor(triton_url)))
    return fit_canvas(style_from_image(rgb, frame, allow_default=allow_default))


def check_renders_on(spec: SessionSpec, triton_url: str | None) -> None:
    """InvalidArgument (naming `triton_url`) for a NEURAL request with no Triton to render on."""
    if spec.renderer == Renderer.NEURAL and not triton_url:
        raise InvalidArgument("renderer NEURAL renders on Triton: pass --triton-url HOST:PORT (a Triton "
                                  "serving the neural models, e.g. `signstream triton --model-repository DIR`; "
                                  "`signstream models stand-in DIR` writes random-weight stand-ins) or generate "
                                  "through a gateway with --server HOST:PORT", field="triton_url")


def lease_neural(spec: SessionSpec, triton_url: str):
    """A NEURAL renderer slot on the Triton at `triton_url` (its renderer ready, its seed chosen), or
    the error saying why not (Triton unreachable; its neural models missing: RendererUnavailable)."""
    from signstream.extract.replicas import parse_triton_urls
    from signstream.render.neural_backend import NeuralBackend  # tritonclient loads only when used

    async def lease():
        backend = NeuralBackend(parse_triton_urls(triton_url))
        try:
            return await backend.lease(spec.neural_model, spec.steps, spec.seed)
        finally:
            await backend.close()

    return asyncio.run(lease())


def _reference(data: bytes, style: Style):
    """The style photo at the canvas size: a NEURAL renderer's reference (H, W, 3) RGB."""
    import cv2

    rgb = decode_style_image(data)
    size = (style.width, style.height)
    return rgb if rgb.shape[1::-1] == size else cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def generate(request: GenerateRequest, lexicon: Lexicon) -> GenerateResult:
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    options = request.options.validated()
    style_bytes = read_style_bytes(request.style_image_path) if request.style_image_path is not None else b""
    spec = request.spec(style_bytes)
    check_renders_on(spec, request.triton_url)
    ids = checked_sign_ids(request.sign_ids, lexicon)
    clips = [lexicon.get_clip(i) for i in ids]
    seconds["lookup"] = time.perf_counter() - t0

    neural = None
    if spec.renderer == Renderer.NEURAL:
        t = time.perf_counter()
        neural = lease_neural(spec, request.triton_url)
        seconds["renderer lease"] = time.perf_counter() - t
    try:
        t1 = time.perf_counter()
        style = on_canvas(spec, load_style(request.style_image_path, request.allow_default_style,
                                           request.triton_url, style_bytes or None))
        seconds["style"] = time.perf_counter() - t1

        seconds["kernel warm-up"] = warm_up()  # numba: compile or load the cache, kept out of synthesis
        t2 = time.perf_counter()
        chunks = synthesize(((c.sign_id, c.frames, c.fps) for c in clips), style, options)
        sentence = SentenceFrames.from_chunks(chunks)
        seconds["synthesize"] = time.perf_counter() - t2

        fps = frame_rate_from_clips([c.fps for c in clips])
        renderer = spec.renderer if neural is None else \
            neural.renderer(style.width, style.height, fps, _reference(style_bytes, style), realtime=False)
        t3 = time.perf_counter()
        paths = write_results(request.out_dir, sentence, fps, style.width, style.height, progress=request.progress,
                              renderer=renderer)
        seconds["write"] = time.perf_counter() - t3
    finally:
        if neural is not None:
            neural.release()
    log.info(
        "wrote %d %s frames (%s) at %.2f fps, %dx%d to %s", len(sentence.frames), spec.renderer.upper(),
        " ".join(display_sign_id(i) for i in ids), fps, style.width, style.height, request.out_dir,
    )
    if neural is None:
        return GenerateResult(paths, len(sentence.frames), fps, style.width, style.height, style, seconds)
    return GenerateResult(paths, len(sentence.frames), fps, style.width, style.height, style, seconds,
                          spec.renderer, neural.seed, neural.steps if not neural.model else 0, neural.noise)
