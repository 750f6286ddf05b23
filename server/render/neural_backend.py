"""Where NEURAL streams render: the Tritons this gateway extracts through, which of them serve the
neural models now, how many NEURAL streams the server takes at once, and how long frames take.

    backend = NeuralBackend(("127.0.0.1:8001",), max_streams=16, counts=counts)
    lease = await backend.lease(spec)             # refused: Overloaded / RendererUnavailable / TritonUnavailable
    renderer = lease.renderer(width, height, fps, reference_rgb, realtime=True)
    ...
    lease.release()                               # the stream ended (any way): its slot is free

A stream keeps the Triton it was leased for (the `renderer` model keeps its state there); new streams
go to the ready replicas in turn. A NEURAL stream asks for one of two models: "" (the diffusion
renderer, Triton's `renderer`) or "pose2img". Refusals say why: no Triton at all (this gateway
extracts in-process), the model not loaded there (its weights are missing), Triton not answering, or
the server already rendering `max_streams` NEURAL streams (RESOURCE_EXHAUSTED with a retry hint:
renderer capacity is finite, and a stream admitted past it would slow every other one down).
"""
from __future__ import annotations

import asyncio
import collections
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tritonclient.grpc.aio as triton_aio

from signstream.errors import Overloaded, RendererUnavailable, TritonUnavailable
from signstream.limits import StreamLimits
from signstream.neural import contract as c
from signstream.render.adaptive import AdaptiveRenderer, neural_ladder
from signstream.render.neural import NeuralRenderer
from signstream.render.pose2img import POSE2IMG_MODEL, Pose2ImgRenderer
from signstream.render.renderer import FrameObserver, ignore_frame
from signstream.server_counts import NEURAL_STREAMS, ServerCounts
from signstream.neural.triton_client import RENDERER_MODEL
from signstream.triton.parameters import STAND_IN_PARAMETER

log = logging.getLogger(__name__)

MAX_NEURAL_STREAMS = StreamLimits.max_neural_streams   # `serve --max-neural-streams`: for the whole server
PROBE_TIMEOUT_S = 2.0
# health name (one per capability) -> the Triton model a NEURAL config with that neural_model uses
CAPABILITIES = {"neural": RENDERER_MODEL, "pose2img": POSE2IMG_MODEL}
MODEL_OF = {"": RENDERER_MODEL, "pose2img": POSE2IMG_MODEL}
NEEDS = {RENDERER_MODEL: ", ".join(m.weights for m in (c.APPEARANCE, c.UNET_STEP, c.DECODE)),
         POSE2IMG_MODEL: c.POSE2IMG.weights}
# REALTIME playout delay: before the first frame goes out, the next batch renders too
FIRST_PLAYOUT_S = 0.25               # before any frame was measured
MAX_PLAYOUT_S = 2.0
LATENCY_SAMPLES = 64
LATENCY_MAX_AGE_S = 60.0            # older measurements say nothing of the load now


def random_seed() -> int:
    """A seed for a stream that asked for none (0): never 0 itself, so it can be sent back to replay."""
    return secrets.randbelow(2**63 - 1) + 1


class RenderLatency:
    """The last LATENCY_SAMPLES batch latencies of this gateway's NEURAL frames (seconds from a batch
    asked for to its pictures back) of the last LATENCY_MAX_AGE_S, for the REALTIME playout delay: when
    the load drops, the slow batches of before age out."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._samples: collections.deque[tuple[float, float]] = collections.deque(maxlen=LATENCY_SAMPLES)

    def add(self, seconds: float) -> None:
        self._samples.append((self._clock(), seconds))

    def playout_delay(self) -> float:
        """How long a REALTIME NEURAL stream holds its first frame: the 90th percentile of the batch
        latency measured here lately (so the batch after it is ready too), FIRST_PLAYOUT_S when none
        is recent, at most MAX_PLAYOUT_S."""
        oldest = self._clock() - LATENCY_MAX_AGE_S
        while self._samples and self._samples[0][0] < oldest:
            self._samples.popleft()
        if not self._samples:
            return FIRST_PLAYOUT_S
        return min(MAX_PLAYOUT_S, float(np.quantile([s for _, s in self._samples], 0.9)))


class _Measured(FrameObserver):
    """Passes a renderer's reports on to the gateway's observer and keeps the latencies."""

    def __init__(self, observe: FrameObserver, latency: RenderLatency):
        self.observe, self.latency = observe, latency
        self._queued = 0.0

    def frames_sent(self, n: int, queued_s: float) -> None:
        self._queued = queued_s
        self.observe.frames_sent(n, queued_s)

    def frames_back(self, n: int, render_s: float) -> None:
        self.latency.add(self._queued + render_s)
        self.observe.frames_back(n, render_s)

    def degraded_frames(self, n: int) -> None:
        self.observe.degraded_frames(n)


@dataclass
class NeuralLease:
    """One admitted NEURAL stream: the Triton it renders on, its seed, whether that Triton's models are
    stand-ins (the frames are noise), and its slot in the server's count, given back by `release`."""

    url: str
    model: str                   # "" (diffusion) or "pose2img"
    steps: int
    seed: int
    noise: bool
    playout_delay_s: float
    _backend: "NeuralBackend"
    released: bool = False

    def renderer(self, width: int, height: int, fps: float, reference: np.ndarray, realtime: bool) -> AdaptiveRenderer:
        """The stream's renderer on its canvas: `reference` (H, W, 3) RGB is the style photo."""
        observe = _Measured(self._backend.observe, self._backend.latency)

        def make(w: int, h: int):
            if self.model == "pose2img":
                return Pose2ImgRenderer(w, h, url=self.url, reference=reference, noise=self.noise, observe=observe)
            return NeuralRenderer(w, h, url=self.url, reference=reference, seed=self.seed, steps=self.steps,
                                  noise=self.noise, observe=observe)

        return AdaptiveRenderer(width, height, neural_ladder(self.model, self.steps, realtime), make, fps,
                                noise=self.noise, observe=observe)

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._backend._leave()


def tritons_of(extractor) -> tuple[str, ...]:
    """The Triton URLs an extractor (or the bounded wrapper around one) extracts on; () in-process."""
    return tuple(getattr(getattr(extractor, "inner", extractor), "urls", ()))


class NeuralBackend:
    def __init__(self, urls: Sequence[str] = (), *, max_streams: int = MAX_NEURAL_STREAMS,
                 counts: ServerCounts | None = None, retry_after_s: float = 1.0,
                 observe: FrameObserver | None = None):
        self.urls = tuple(urls)
        self.max_streams = max_streams
        self.counts = counts or ServerCounts()
        self.retry_after_s = retry_after_s
        self.observe = observe or ignore_frame
        self.latency = RenderLatency()
        self._clients: dict[str, triton_aio.InferenceServerClient] = {}
        self._turn = 0
        self.ready: dict[str, bool] = {name: False for name in CAPABILITIES}

    @classmethod
    def for_extractor(cls, extractor, **options) -> "NeuralBackend":
        """The backend of a gateway extracting through `extractor`: its Tritons (none in-process)."""
        return cls(tritons_of(extractor), **options)

    @property
    def open(self) -> int:
        """NEURAL streams open in this process."""
        return self.counts.mine(NEURAL_STREAMS)

    def _client(self, url: str) -> triton_aio.InferenceServerClient:
        if url not in self._clients:
            self._clients[url] = triton_aio.InferenceServerClient(url)
        return self._clients[url]

    async def _model_ready(self, url: str, model: str) -> bool | None:
        """True/False: the Triton at `url` answered; None: it did not."""
        try:
            return bool(await self._client(url).is_model_ready(model, client_timeout=PROBE_TIMEOUT_S))
        except Exception:  # noqa: BLE001 - any failure to answer: not reachable
            return None

    async def refresh(self) -> dict[str, bool]:
        """Per capability (health name), whether some Triton serves its model now."""
        if not self.urls:
            return dict(self.ready)
        for name, model in CAPABILITIES.items():
            answers = await asyncio.gather(*(self._model_ready(url, model) for url in self.urls))
            self.ready[name] = any(answers)
        return dict(self.ready)

    async def _stand_in(self, url: str, model: str) -> bool:
        """Whether the weights behind `model` at `url` are stand-ins (their configs say so)."""
        names = [c.UNET_STEP.name] if model == RENDERER_MODEL else [model]
        try:
            for name in names:
                config = await self._client(url).get_model_config(name, as_json=True, client_timeout=PROBE_TIMEOUT_S)
                value = config.get("config", {}).get("parameters", {}).get(STAND_IN_PARAMETER, {})
                if value.get("string_value") == "true":
                    return True
        except Exception:  # noqa: BLE001 - cannot tell: say nothing
            return False
        return False

    async def _pick(self, model: str) -> str:
        """The next replica, in turn, with `model` ready; the refusal naming why when none has."""
        if not self.urls:
            raise RendererUnavailable(
                "renderer NEURAL needs Triton, and this gateway extracts in-process: start it with "
                "`signstream serve --triton-url HOST:PORT` (or `--model-repository DIR`, which starts one)",
                field="renderer")
        order = [self.urls[(self._turn + i) % len(self.urls)] for i in range(len(self.urls))]
        self._turn += 1
        answers = await asyncio.gather(*(self._model_ready(url, model) for url in order))
        for url, answer in zip(order, answers):
            if answer:
                return url
        if any(answer is False for answer in answers):
            where = ", ".join(url for url, answer in zip(order, answers) if answer is False)
            raise RendererUnavailable(
                f"Triton at {where} has no ready `{model}` model: it needs {NEEDS[model]} in its model repository "
                "(`signstream renderer export` from your diffusers folders, or `signstream models stand-in DIR` "
                "for random-weight stand-ins; README, 'Real NEURAL weights'); SKELETON streams still work",
                field="renderer")
        raise TritonUnavailable(f"cannot reach Triton at {', '.join(order)} for the neural renderer; SKELETON "
                                "streams still work: retry once Triton is back")

    async def lease(self, model: str, steps: int, seed: int = 0) -> NeuralLease:
        """Admit a NEURAL stream: its slot, its Triton, its seed (a random one for 0)."""
        if not self.counts.try_add(NEURAL_STREAMS, 1, self.max_streams):
            raise Overloaded(f"the server renders {self.max_streams} NEURAL streams already (its renderer capacity, "
                             "`serve --max-neural-streams`); retry shortly or ask for renderer SKELETON",
                             retry_after_s=self.retry_after_s)
        try:
            url = await self._pick(MODEL_OF[model])
            noise = await self._stand_in(url, MODEL_OF[model])
        except BaseException:
            self._leave()
            raise
        if noise:
            log.info("NEURAL stream on %s: its models are random-weight stand-ins, the frames are noise", url)
        return NeuralLease(url, model, steps, seed or random_seed(), noise, self.latency.playout_delay(), self)

    def _leave(self) -> None:
        self.counts.add(NEURAL_STREAMS, -1)

    async def close(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            try:
                await client.close()
            except Exception:  # noqa: BLE001 - closing anyway
                pass


__all__ = ["CAPABILITIES", "MAX_NEURAL_STREAMS", "NeuralBackend", "NeuralLease", "RenderLatency", "random_seed"]
