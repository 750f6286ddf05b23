"""The gateway server: grpc.aio with the SignStream service, grpc.health.v1 and server reflection.

Health is NOT_SERVING until the extractor (Triton) is reachable and the numba kernels are warm,
then SERVING; `stop()` turns it NOT_SERVING first and keeps the port open while open streams finish
within the grace period (new streams get UNAVAILABLE meanwhile, health checks an answer), then stops (the browser viewer, `options.web`, rides on the same core: it drains with it). Message sizes are limited on purpose (README "Limits"): requests carry at most one
style image or video frame, responses at most one frame.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from signstream.cpu_pool import PriorityPool
from signstream.extract.base import FrameExtractor
from signstream.metrics import GatewayMetrics, Registry
from signstream.gateway.security import BearerTokenInterceptor, ServerTls
from signstream.gateway.servicer import SignStreamService
from signstream.gateway.wire import add_service
from signstream.kernels.warmup import warm_up
from signstream.lexicon import Lexicon
from signstream.limits import StreamLimits
from signstream.server_counts import ServerCounts
from signstream.streaming import StreamCore
from signstream.v1 import signstream_pb2 as pb
from signstream.web.app import WebOptions, WebServer

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["SignStream"].full_name     # "signstream.v1.SignStream"
# grpc.health.v1 name that is SERVING for as long as the port answers, draining included: what a liveness
# probe asks (readiness asks "", NOT_SERVING while Triton is down or the gateway drains).
LIVENESS_SERVICE = "liveness"
# Per capability, SERVING while it works: "extraction" (Triton's `holistic`, or in-process; the same as
# readiness), "neural" (Triton's `renderer`: NEURAL streams) and "pose2img" (neural_model "pose2img").
EXTRACTION_SERVICE = "extraction"
MAX_RECEIVE_BYTES = 16 * 1024 * 1024     # one style image or video frame per message
MAX_SEND_BYTES = 64 * 1024 * 1024        # one RAW_RGB frame of 4096 x 4096 is 48 MiB
DRAIN_TAIL_S = 1.0                       # after the streams' drain: unary calls in flight get this long


@dataclass(frozen=True)
class GatewayOptions:
    host: str = "127.0.0.1"
    port: int = 50051                    # 0: any free port
    workers: int = 0                     # CPU threads for normalize/render/encode; 0 = cores
    reuse_port: bool = False             # SO_REUSEPORT: several gateway processes share one port
    max_receive_bytes: int = MAX_RECEIVE_BYTES
    max_send_bytes: int = MAX_SEND_BYTES
    limits: StreamLimits = StreamLimits()   # the server's streams and frame memory, per-stream limits (README "Limits")
    auth_tokens: tuple[str, ...] = field(default=(), repr=False)   # bearer tokens; () = no auth (security.py)
    tls: ServerTls | None = None         # None: plaintext port
    health_interval_s: float = 1.0       # how often health asks the extractor (Triton) whether it is ready
    web: WebOptions | None = None        # the browser viewer on its own port (signstream.web); None: off


class Gateway:
    def __init__(self, lexicon: Lexicon, extractor: FrameExtractor, options: GatewayOptions = GatewayOptions(),
                 registry: Registry | None = None, counts: ServerCounts | None = None):
        """`counts`: the table this gateway shares with the server's other gateway processes (limits
        hold for all of them together); None: this gateway is the whole server."""
        self.options = options
        self.counts = counts
        self.lexicon = lexicon
        self.extractor = extractor
        self.registry = registry or Registry()
        self.metrics = GatewayMetrics(self.registry)
        self.executor = PriorityPool(options.workers or os.cpu_count() or 2, name="gateway-cpu")
        self.health = health.aio.HealthServicer()
        self.server: grpc.aio.Server | None = None
        self.port: int | None = None
        self.serving = False
        self.core: StreamCore | None = None
        self.web: WebServer | None = None
        self._watch: asyncio.Task | None = None
        self._capabilities: dict[str, bool] = {}

    async def _set_health(self, serving: bool) -> None:
        self.serving = serving
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for service in ("", SERVICE_NAME, EXTRACTION_SERVICE):
            await self.health.set(service, status)

    async def _set_capabilities(self) -> None:
        """Health per NEURAL capability: SERVING while some Triton serves its model."""
        for name, ready in (await self.core.neural.refresh()).items():
            status = health_pb2.HealthCheckResponse.SERVING if ready else health_pb2.HealthCheckResponse.NOT_SERVING
            if self._capabilities.get(name) != ready:
                if name in self._capabilities or ready:
                    log.info("capability %s: %s", name, "SERVING" if ready else "NOT_SERVING")
                self._capabilities[name] = ready
                await self.health.set(name, status)

    async def _watch_extractor(self) -> None:
        """Health follows the extractor: NOT_SERVING while Triton is down (calls that need it fail
        with UNAVAILABLE meanwhile; streams that do not need it go on), SERVING once it is back; each
        NEURAL capability follows its model on Triton."""
        while True:
            await asyncio.sleep(self.options.health_interval_s)
            ready = await self.extractor.ready()
            if ready != self.serving:
                log.log(logging.INFO if ready else logging.ERROR, "extraction %s: health %s",
                        "is back" if ready else "is not ready (Triton down?)", "SERVING" if ready else "NOT_SERVING")
                await self._set_health(ready)
            await self._set_capabilities()

    async def start(self) -> int:
        """Listen, then get ready (extractor reachable, kernels warm) and report SERVING; the port."""
        interceptors = [BearerTokenInterceptor(self.options.auth_tokens)] if self.options.auth_tokens else []
        self.server = grpc.aio.server(interceptors=interceptors, options=[
            ("grpc.max_receive_message_length", self.options.max_receive_bytes),
            ("grpc.max_send_message_length", self.options.max_send_bytes),
            ("grpc.so_reuseport", int(self.options.reuse_port)),
        ])
        self.core = StreamCore(self.lexicon, self.extractor, self.executor, self.metrics, self.options.limits,
                               self.options.max_send_bytes, self.counts)
        add_service(SignStreamService(self.core), self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
            self.server)
        await self._set_health(False)
        address = f"{self.options.host}:{self.options.port}"
        self.port = (self.server.add_secure_port(address, self.options.tls.credentials()) if self.options.tls
                     else self.server.add_insecure_port(address))
        await self.server.start()
        await self.health.set(LIVENESS_SERVICE, health_pb2.HealthCheckResponse.SERVING)
        log.info("gateway listening on %s:%d (NOT_SERVING until ready)", self.options.host, self.port)
        if self.options.web is not None:
            self.web = WebServer(self.core, self.options.web, self.options.host, self.options.max_receive_bytes,
                                 self.options.auth_tokens, self.options.reuse_port)
            await self.web.start()
        await self.get_ready()
        return self.port

    async def get_ready(self) -> None:
        """Start the extractor (it checks Triton's models), warm the kernels, then SERVING."""
        await self.extractor.start()
        seconds = await asyncio.get_running_loop().run_in_executor(self.executor, warm_up)
        log.info("kernels warm in %.0f ms", 1000 * seconds)
        await self._set_health(True)
        await self._set_capabilities()
        self._watch = asyncio.create_task(self._watch_extractor(), name="health-watch")
        log.info("gateway SERVING on %s:%d", self.options.host, self.port)

    async def stop(self, grace: float = 10.0) -> None:
        """NOT_SERVING, then let open streams finish for up to `grace` seconds while the port still
        answers (new streams: UNAVAILABLE), then stop (calls still running then are cancelled)."""
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        await self._set_health(False)
        if self.server is not None:
            start = time.monotonic()
            if self.core is not None:
                left = await self.core.drain(grace)
                if left:
                    log.warning("%d stream(s) still open after the %g s grace time: cancelled", left, grace)
            await self.server.stop(max(DRAIN_TAIL_S, grace - (time.monotonic() - start)))
            self.server = None
        if self.web is not None:
            await self.web.stop()
            self.web = None
        await self.extractor.close()
        if self.core is not None:
            await self.core.neural.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        log.info("gateway stopped")

    async def __aenter__(self) -> "Gateway":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()
