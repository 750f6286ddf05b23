"""Batch generation (the seed's job, in-process): sign IDs -> results folder.

Cheap checks come first so that nothing is extracted, rendered or written for a request that
cannot succeed: options, sign-ID syntax, lexicon membership, then the style image.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from signstream.errors import InvalidSignId, SignStreamError, UnknownSign
from signstream.kernels.warmup import warm_up
from signstream.lexicon import Lexicon, canonical_sign_id, display_sign_id
from signstream.pipeline import SynthesisOptions, synthesize
from signstream.render import frame_rate_from_clips
from signstream.results import SentenceFrames, write_results
from signstream.style import Style, default_style, fit_canvas, read_style_image, style_from_image

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerateRequest:
    sign_ids: tuple[str, ...]
    options: SynthesisOptions = SynthesisOptions()
    style_image_path: str | None = None
    allow_default_style: bool = False
    out_dir: str = "results"
    progress: bool = True
    triton_url: str | None = None     # extract the style image through this Triton; else in-process


@dataclass(frozen=True)
class GenerateResult:
    paths: dict[str, Path]
    num_frames: int
    fps: float
    width: int
    height: int
    style: Style
    seconds: dict[str, float] = field(default_factory=dict)


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


def load_style(path: str | None, allow_default: bool, triton_url: str | None = None) -> Style:
    if path is None:
        return default_style()
    from signstream.extract.base import extract_once, open_extractor  # MediaPipe loads only when needed

    rgb = read_style_image(path)
    frame, _ = asyncio.run(extract_once(rgb, open_extractor(triton_url)))
    return fit_canvas(style_from_image(rgb, frame, allow_default=allow_default))


def generate(request: GenerateRequest, lexicon: Lexicon) -> GenerateResult:
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    options = request.options.validated()
    ids = checked_sign_ids(request.sign_ids, lexicon)
    clips = [lexicon.get_clip(i) for i in ids]
    seconds["lookup"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    style = load_style(request.style_image_path, request.allow_default_style, request.triton_url)
    seconds["style"] = time.perf_counter() - t1

    seconds["kernel warm-up"] = warm_up()  # numba: compile or load the cache, kept out of synthesis
    t2 = time.perf_counter()
    chunks = synthesize(((c.sign_id, c.frames, c.fps) for c in clips), style, options)
    sentence = SentenceFrames.from_chunks(chunks)
    seconds["synthesize"] = time.perf_counter() - t2

    fps = frame_rate_from_clips([c.fps for c in clips])
    t3 = time.perf_counter()
    paths = write_results(request.out_dir, sentence, fps, style.width, style.height, progress=request.progress)
    seconds["write"] = time.perf_counter() - t3
    log.info(
        "wrote %d frames (%s) at %.2f fps, %dx%d to %s",
        len(sentence.frames), " ".join(display_sign_id(i) for i in ids), fps, style.width, style.height, request.out_dir,
    )
    return GenerateResult(paths, len(sentence.frames), fps, style.width, style.height, style, seconds)
