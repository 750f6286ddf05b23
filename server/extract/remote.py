"""Keypoint extraction through Triton (async, tritonclient gRPC): image -> packed frame.

The MediaPipe parts always come from `holistic`. Body, hands and face come from `wholebody`
(YOLOX + DWPose) when Triton has it loaded, else they are derived from Holistic by the mappings
in `signstream.kernels.mappings`, exactly as in-process extraction does: without wholebody the two give the same frame and
share a `version`, so a lexicon ingested either way is not rebuilt.
"""
from __future__ import annotations

import asyncio
import logging

import numpy as np
import tritonclient.grpc.aio as triton_aio
from tritonclient.utils import InferenceServerException

from signstream.errors import ExtractionFailed, TritonUnavailable
from signstream.extract.holistic import HOLISTIC_VERSION, HolisticArrays
from signstream.extract.replicas import Replica, ReplicaPool, channel_args_for, parse_triton_urls
from signstream.render.encode import check_rgb
from signstream.triton.parameters import DIGEST_PARAMETER

log = logging.getLogger(__name__)

HOLISTIC_MODEL = "holistic"
WHOLEBODY_MODEL = "wholebody"
WHOLEBODY_VERSION = "wholebody/1"          # + the weight digests the launcher gives each model
WHOLEBODY_NETWORKS = ("yolox", "dwpose")
HOLISTIC_OUTPUTS = ("POSE", "FACE", "LEFT_HAND", "RIGHT_HAND")
# Reconnect quickly to a Triton that restarts on the same port (gRPC's default backoff grows to 120 s).
CHANNEL_ARGS = [("grpc.initial_reconnect_backoff_ms", 250), ("grpc.max_reconnect_backoff_ms", 2000)]
READY_TIMEOUT_S = 2.0
WHOLEBODY_OUTPUTS = ("KEYPOINTS", "SCORES")


def _image_input(rgb: np.ndarray) -> triton_aio.InferInput:
    batch = np.ascontiguousarray(check_rgb(rgb))[None]       # (1, H, W, 3) uint8
    tensor = triton_aio.InferInput("IMAGE", list(batch.shape), "UINT8")
    tensor.set_data_from_numpy(batch)
    return tensor


# What a Triton that is going away (or not yet up) answers: gone, or its models unloading or loading.
_GONE_STATUSES = ("UNAVAILABLE", "DEADLINE", "CANCELLED")
_GONE_MESSAGES = ("unknown model", "has no available versions", "is not ready")


def _is_unavailable(exc: Exception) -> bool:
    """Whether a call failed because Triton, or the model on it, was not there (not because it refused
    the request): another replica may answer it."""
    if not isinstance(exc, InferenceServerException):
        return False
    status = (exc.status() or "").upper()
    message = (exc.message() or "").lower()
    return any(s in status for s in _GONE_STATUSES) or any(m in message for m in _GONE_MESSAGES)


class TritonExtractor:
    """Extraction through running Tritons at `url`: the gRPC endpoint `host:port`, `dns:///name:port`, or a
    comma-separated list of them (signstream.extract.replicas: each request to the next replica in
    turn, retried on another when one is not there).

        async with TritonExtractor("127.0.0.1:8001") as extractor:
            frame = await extractor.extract(rgb)

    `wholebody=None` uses it when Triton has it ready; True requires it; False never uses it. Every
    replica is expected to serve the same models; the first one ready at start decides.
    """

    def __init__(self, url: str, *, wholebody: bool | None = None, timeout: float = 60.0):
        self.urls = parse_triton_urls(url)
        self.url = ",".join(self.urls)
        self.timeout = timeout
        self._want_wholebody = wholebody
        self.uses_wholebody = False
        self._weights = ""
        self._pool: ReplicaPool[triton_aio.InferenceServerClient] | None = None

    @property
    def version(self) -> str:
        return f"{HOLISTIC_VERSION}+{WHOLEBODY_VERSION}{self._weights}" if self.uses_wholebody else HOLISTIC_VERSION

    async def start(self) -> "TritonExtractor":
        if self._pool is not None:
            return self
        self._pool = ReplicaPool([Replica(url, triton_aio.InferenceServerClient(
            url, channel_args=CHANNEL_ARGS + channel_args_for(url))) for url in self.urls])
        try:
            first = await self._first_ready()
            wholebody_ready = self._want_wholebody is not False and await self._model_ready(first, WHOLEBODY_MODEL)
            if self._want_wholebody and not wholebody_ready:
                raise TritonUnavailable(f"Triton at {first.url} has no ready `{WHOLEBODY_MODEL}` model: its "
                                        "YOLOX/DWPose weights are missing (see README, 'Adding real weights')")
            if wholebody_ready:
                self._weights = "".join([f"/{name}:{await self._weights_digest(first, name)}"
                                         for name in WHOLEBODY_NETWORKS])
        except BaseException:
            await self.close()
            raise
        self.uses_wholebody = wholebody_ready
        log.info("extraction through Triton at %s: body/hands/face from %s", self.url,
                 WHOLEBODY_MODEL if wholebody_ready else f"{HOLISTIC_MODEL} (wholebody not loaded)")
        return self

    async def _first_ready(self) -> Replica:
        """The first replica serving `holistic`; the others not ready yet are marked down (tried last,
        probed by `ready()`). TritonUnavailable when none is."""
        answers = await asyncio.gather(*(self._model_ready(replica, HOLISTIC_MODEL) for replica in self._pool.replicas),
                                       return_exceptions=True)
        for answer in answers:
            if isinstance(answer, BaseException) and not isinstance(answer, TritonUnavailable):
                raise answer
        first, reasons = None, []
        for replica, answer in zip(self._pool.replicas, answers):
            if answer is True:
                first = first or replica
                continue
            reason = answer.message if answer is not False else \
                f"Triton at {replica.url} does not serve `{HOLISTIC_MODEL}` (not ready)"
            reasons.append(reason)
            self._pool.mark_down(replica, reason)
        if first is None:
            raise TritonUnavailable(f"{'; '.join(reasons)}; start it with `signstream triton` and check its log")
        return first

    async def ready(self) -> bool:
        """Whether some replica answers and has `holistic` ready now (for health; never raises). Probes
        every replica: one found ready again takes its turn at once, one found gone is marked down."""
        if self._pool is None:
            return False

        async def probe(replica: Replica) -> bool:
            try:
                return bool(await replica.client.is_model_ready(HOLISTIC_MODEL, client_timeout=READY_TIMEOUT_S))
            except Exception:  # noqa: BLE001 - any failure to answer means not ready
                return False

        pool = self._pool
        answers = await asyncio.gather(*(probe(replica) for replica in pool.replicas))
        for replica, answer in zip(pool.replicas, answers):
            if answer:
                pool.mark_up(replica)
            elif not replica.many and not pool.is_down(replica):
                pool.mark_down(replica, "health probe")
        return any(answers)

    async def _model_ready(self, replica: Replica, model: str) -> bool:
        try:
            return bool(await replica.client.is_model_ready(model))
        except InferenceServerException as exc:
            raise TritonUnavailable(f"cannot reach Triton at {replica.url}: {exc.message()}") from exc

    async def _weights_digest(self, replica: Replica, model: str) -> str:
        """The weights digest `signstream triton` put in the model's config ("?" if another launcher
        started this Triton: then swapping weight files is not noticed)."""
        try:
            config = await replica.client.get_model_config(model, as_json=True)
        except InferenceServerException as exc:
            raise TritonUnavailable(f"cannot read `{model}`'s config from Triton at {replica.url}: "
                                    f"{exc.message()}") from exc
        return config.get("config", {}).get("parameters", {}).get(DIGEST_PARAMETER, {}).get("string_value", "?")

    async def _infer(self, model: str, rgb: np.ndarray, outputs: tuple[str, ...]) -> list[np.ndarray]:
        if self._pool is None:
            raise TritonUnavailable("TritonExtractor is not started; use `async with` or `await start()`")
        inputs = [_image_input(rgb)]
        requested = [triton_aio.InferRequestedOutput(name) for name in outputs]

        async def infer(replica: Replica):
            return await replica.client.infer(model, inputs, outputs=requested, client_timeout=self.timeout)

        try:
            result = await self._pool.call(infer, retryable=_is_unavailable)
        except InferenceServerException as exc:
            if _is_unavailable(exc):
                raise TritonUnavailable(f"Triton at {self.url} did not answer `{model}`: {exc.message()}") from exc
            raise ExtractionFailed(f"Triton `{model}` rejected the image: {exc.message()}") from exc
        return [result.as_numpy(name)[0] for name in outputs]

    async def holistic(self, rgb: np.ndarray) -> HolisticArrays:
        """rgb (H, W, 3) uint8 -> Holistic arrays (image-normalized; zeros where absent)."""
        pose, face, left, right = await self._infer(HOLISTIC_MODEL, rgb, HOLISTIC_OUTPUTS)
        return HolisticArrays(pose=pose, face=face, left_hand=left, right_hand=right)

    async def wholebody(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """rgb (H, W, 3) uint8 -> keypoints (133, 2) in pixels, scores (133,)."""
        keypoints, scores = await self._infer(WHOLEBODY_MODEL, rgb, WHOLEBODY_OUTPUTS)
        return keypoints, scores

    async def extract(self, rgb: np.ndarray) -> np.ndarray:
        """rgb (H, W, 3) uint8 -> packed frame (K, 3) float32."""
        rgb = check_rgb(rgb)
        if not self.uses_wholebody:
            return (await self.holistic(rgb)).to_frame()
        from signstream.extract.wholebody import merge_wholebody

        arrays, (keypoints, scores) = await asyncio.gather(self.holistic(rgb), self.wholebody(rgb))
        height, width = rgb.shape[:2]
        return merge_wholebody(arrays.to_frame(), keypoints, scores, width, height)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.gather(*(replica.client.close() for replica in pool.replicas))

    async def __aenter__(self) -> "TritonExtractor":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()
