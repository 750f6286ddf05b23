"""`signstream serve`: Triton (started here, or `--triton-url`) and the gRPC gateway, in the foreground.

SIGINT/SIGTERM drain: health goes NOT_SERVING, open streams get `--grace` seconds to finish, the
gateway stops, and Triton stops last.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from signstream.extract.remote import TritonExtractor
from signstream.gateway.app import Gateway, GatewayOptions
from signstream.gateway.metrics import MetricsServer
from signstream.lexicon import open_lexicon
from signstream.triton.launcher import TritonServer

from .common import add_lexicon_flags, settings_from_args
from .triton import add_triton_flags, options_from_args

log = logging.getLogger(__name__)
DEFAULT_PORT = 50051
DEFAULT_METRICS_PORT = 8090


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the streaming gateway (and Triton) until SIGINT/SIGTERM",
                       description="Serve the SignStream gRPC API: Synthesize, Retarget, ExtractKeypoints, "
                                   "ListSigns, grpc.health.v1 and server reflection.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 to expose)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"gRPC port (default {DEFAULT_PORT}; 0 = any free)")
    p.add_argument("--metrics-port", type=int, default=DEFAULT_METRICS_PORT,
                   help=f"Prometheus /metrics port (default {DEFAULT_METRICS_PORT}; -1 = off)")
    p.add_argument("--triton-url", default=None, metavar="HOST:PORT",
                   help="use this running Triton (gRPC) instead of starting one")
    p.add_argument("--wholebody", choices=("auto", "on", "off"), default="auto",
                   help="body/hands/face from YOLOX+DWPose (auto = when Triton has it)")
    p.add_argument("--workers", type=int, default=0, help="CPU threads for synthesis and rendering (0 = cores)")
    p.add_argument("--grace", type=float, default=10.0, help="seconds open streams get to finish on shutdown")
    add_triton_flags(p)
    add_lexicon_flags(p)
    p.set_defaults(run=run)


async def serve(args: argparse.Namespace, triton_url: str) -> None:
    lexicon = open_lexicon(settings_from_args(args))
    extractor = TritonExtractor(triton_url, wholebody={"auto": None, "on": True, "off": False}[args.wholebody])
    gateway = Gateway(lexicon, extractor, GatewayOptions(host=args.host, port=args.port, workers=args.workers))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    with contextlib.ExitStack() as stack:
        metrics_url = "off"
        if args.metrics_port >= 0:
            metrics = stack.enter_context(MetricsServer(gateway.registry, args.host, args.metrics_port))
            metrics_url = f"http://{args.host}:{metrics.port}/metrics"
        try:
            port = await gateway.start()
            print(f"SignStream serving on {args.host}:{port} (health SERVING); lexicon {lexicon.location}; "
                  f"Triton {triton_url}; metrics {metrics_url}. Ctrl-C stops it.", flush=True)
            await stop.wait()
            print(f"draining: NOT_SERVING, open streams get {args.grace:g} s ...", flush=True)
        finally:
            await gateway.stop(args.grace)


def run(args: argparse.Namespace) -> int:
    if args.triton_url:
        asyncio.run(serve(args, args.triton_url))
        print("gateway stopped", flush=True)
        return 0
    # While Triton starts, SIGTERM interrupts the start like Ctrl-C; the launcher stops what it began.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with TritonServer(options_from_args(args, grpc_port=0, http_port=0, metrics_port=0)) as triton:
        asyncio.run(serve(args, triton.grpc_url))
        print("gateway stopped; stopping Triton ...", flush=True)
    print("Triton stopped", flush=True)
    return 0
