"""`signstream triton`: the real Triton with SignStream's model repository, in the foreground."""
from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from signstream.config import model_repository_path, settings_from_env
from signstream.errors import TritonUnavailable
from signstream.triton.launcher import TritonOptions, TritonServer

log = logging.getLogger(__name__)
DEFAULT_LOG_FILE = Path("logs") / "triton.log"


def add_triton_flags(parser: argparse.ArgumentParser) -> None:
    """Flags for starting Triton (shared with `serve`)."""
    parser.add_argument("--model-repository", default=None, metavar="DIR",
                        help="Triton model repository (default: $SIGNSTREAM_MODEL_REPOSITORY, ./model_repository, "
                             "or the checkout's)")
    parser.add_argument("--instances", type=int, default=1,
                        help="instances of each model (processes); ONNX Runtime threads = cores / instances")
    parser.add_argument("--gpu", action="store_true", help="use each model's configs/gpu.pbtxt (TensorRT plans)")
    parser.add_argument("--triton-log-file", dest="log_file", default=str(DEFAULT_LOG_FILE), metavar="FILE",
                        help=f"Triton's log (default {DEFAULT_LOG_FILE})")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("triton", help="run Triton alone with the holistic and wholebody models",
                       description="Run the tritonserver from the nvidia-pytriton wheel with SignStream's models "
                                   "until SIGINT/SIGTERM.")
    add_triton_flags(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 to expose)")
    p.add_argument("--grpc-port", type=int, default=8001, help="gRPC port (default 8001; 0 = any free)")
    p.add_argument("--http-port", type=int, default=8000, help="HTTP port (default 8000; 0 = any free)")
    p.add_argument("--metrics-port", type=int, default=8002, help="Prometheus /metrics port (default 8002)")
    p.add_argument("--quiet", action="store_true", help="write Triton's output only to its log file")
    p.set_defaults(run=run)


def options_from_args(args: argparse.Namespace, **ports) -> TritonOptions:
    settings = settings_from_env(model_repository=args.model_repository)
    return TritonOptions(model_repository=model_repository_path(settings), instances=args.instances,
                         gpu=args.gpu, log_file=Path(args.log_file), **ports)


def run(args: argparse.Namespace) -> int:
    options = options_from_args(args, host=args.host, grpc_port=args.grpc_port, http_port=args.http_port,
                                metrics_port=args.metrics_port, echo=not args.quiet)
    # While Triton starts, SIGINT and SIGTERM interrupt the start (KeyboardInterrupt; the launcher
    # then stops what it started). Once it is up they only ask the wait loop below to stop.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    stop = threading.Event()
    with TritonServer(options) as triton:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        print(f"Triton ready (pid {triton.pid}): gRPC {triton.grpc_url}, HTTP {triton.http_url}, metrics {triton.metrics_url}; "
              f"models: {', '.join(triton.ready_models()) or 'none'}; log {triton.log_file}. "
              "Ctrl-C stops it.", flush=True)
        while not stop.wait(0.5):
            if not triton.is_running():
                raise TritonUnavailable(f"tritonserver exited on its own; its log ({triton.log_file}) ends with:\n"
                                        f"{triton.log_tail()}")
        print("stopping Triton ...", flush=True)
    print("Triton stopped", flush=True)
    return 0
