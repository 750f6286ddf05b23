"""`signstream serve`: Triton (started here, or `--triton-url`) and the gRPC gateway, in the foreground.

SIGINT/SIGTERM drain: health goes NOT_SERVING, open streams get `--grace` seconds to finish, the
gateway stops, and Triton stops last.

`--processes N` runs N gateway processes on one port (SO_REUSEPORT; the kernel gives each new
connection to one of them), all using the one Triton: this process is gateway 0 and starts the
others, which die with it, drain with it, and serve metrics on `--metrics-port` + i. `--max-streams`
and `--frame-memory` hold for all of them together: they count in one shared-memory table
(`ServerCounts`), and this process zeroes the slot of one that dies.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal

from signstream.extract.remote import TritonExtractor
from signstream.extract.replicas import parse_triton_urls
from signstream.gateway.app import Gateway, GatewayOptions
from signstream.web.app import WebOptions
from signstream.metrics import MetricsServer
from signstream.gateway.security import read_server_tls, read_token_file
from signstream.errors import InvalidArgument
from signstream.lexicon import open_lexicon
from signstream.limits import FRAME_MEMORY_MIB, MIB, SERVER_MAX_STREAMS, StreamLimits
from signstream.net import free_port
from signstream.server_counts import ServerCounts
from signstream.triton.launcher import TritonServer, die_with_parent
from signstream.triton.supervisor import supervise

from .common import add_lexicon_flags, settings_from_args
from .text2signs import add_glosser_flags
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
    p.add_argument("--triton-url", default=None, metavar="URL[,URL...]",
                   help="use these running Tritons (gRPC) instead of starting one: HOST:PORT, dns:///NAME:PORT "
                        "(every address of NAME, round robin), or a comma-separated list; each extraction goes to "
                        "the next replica in turn and is retried on another when one is not there")
    p.add_argument("--wholebody", choices=("auto", "on", "off"), default="auto",
                   help="body/hands/face from YOLOX+DWPose (auto = when Triton has it)")
    p.add_argument("--workers", type=int, default=0,
                   help="CPU threads per gateway process for synthesis and rendering (0 = cores)")
    p.add_argument("--reuse-port", action="store_true",
                   help="bind with SO_REUSEPORT, so several serve processes (each --triton-url the same Triton) "
                        "share one --port and the kernel spreads connections over them")
    p.add_argument("--processes", type=int, default=0,
                   help="gateway processes sharing --port with SO_REUSEPORT (0 = one per core, the default; "
                        "see README Concurrency)")
    p.add_argument("--grace", type=float, default=10.0, help="seconds open streams get to finish on shutdown")
    p.add_argument("--web-port", type=int, default=-1, metavar="PORT",
                   help="serve the browser viewer (page + WebSocket /ws) on this port of --host (0 = any free; "
                        "default -1 = off); it shares the gRPC streams' limits, tokens and metrics")
    p.add_argument("--web-origin", action="append", default=[], metavar="ORIGIN",
                   help="a page origin allowed to use the viewer's socket and API, e.g. https://signs.example "
                        "(repeatable; default: the viewer's own origin)")
    _add_limit_flags(p)
    _add_security_flags(p)
    add_glosser_flags(p)
    add_triton_flags(p)
    add_lexicon_flags(p)
    p.set_defaults(run=run)


def _add_limit_flags(p: argparse.ArgumentParser) -> None:
    """Stream limits (README "Limits"); 0 turns one off."""
    d = StreamLimits()
    p.add_argument("--max-streams", type=int, default=SERVER_MAX_STREAMS, metavar="N",
                   help=f"open Synthesize/Retarget streams for the whole server, all gateway processes together; "
                        f"beyond it RESOURCE_EXHAUSTED with a retry hint (default {SERVER_MAX_STREAMS})")
    p.add_argument("--frame-memory", type=float, default=FRAME_MEMORY_MIB, metavar="MIB",
                   help=f"MiB of frames rendered but not yet read by their clients, for the whole server; a stream "
                        f"that finds no room within 1 s gets RESOURCE_EXHAUSTED (default {FRAME_MEMORY_MIB})")
    p.add_argument("--max-extractions", type=int, default=0, metavar="N",
                   help="client images (style images, Retarget frames, ExtractKeypoints) decoded and extracted at "
                        "once in the whole server; others wait up to 10 s, then RESOURCE_EXHAUSTED "
                        "(default 0: one per two cores)")
    p.add_argument("--max-neural-streams", type=int, default=d.max_neural_streams, metavar="N",
                   help=f"open NEURAL streams for the whole server (the renderer's capacity on Triton: each one past "
                        f"it would slow every other down); beyond it RESOURCE_EXHAUSTED with a retry hint "
                        f"(default {d.max_neural_streams}; 0 = no bound)")
    p.add_argument("--max-signs", type=int, default=d.max_signs, metavar="N",
                   help=f"sign IDs (or Retarget frames) per stream (default {d.max_signs:,})")
    p.add_argument("--idle-timeout", type=float, default=d.idle_timeout_s, metavar="S",
                   help=f"close a stream that sends no request for S seconds while nothing is left to send "
                        f"(default {d.idle_timeout_s:g})")
    p.add_argument("--send-timeout", type=float, default=d.send_timeout_s, metavar="S",
                   help=f"drop a stream whose client does not read a frame for S seconds (default {d.send_timeout_s:g})")
    p.add_argument("--max-stream-seconds", type=float, default=d.max_stream_s, metavar="S",
                   help=f"end any stream after S seconds (default {d.max_stream_s:g})")


def limits_from_args(args: argparse.Namespace) -> StreamLimits:
    """The server's limits (the first two for all gateway processes together, the rest per stream)."""
    if not args.frame_memory >= 0:
        raise SystemExit(f"signstream serve: --frame-memory must be 0 (off) or more MiB, got {args.frame_memory:g}")
    limits = StreamLimits(max_streams=args.max_streams, frame_memory_bytes=int(args.frame_memory * MIB),
                          max_extractions=args.max_extractions, max_neural_streams=args.max_neural_streams,
                          max_signs=args.max_signs,
                          idle_timeout_s=args.idle_timeout, send_timeout_s=args.send_timeout,
                          max_stream_s=args.max_stream_seconds)
    try:
        return limits.validated()
    except InvalidArgument as exc:
        raise SystemExit(f"signstream serve: {exc.message}") from exc


def _add_security_flags(p: argparse.ArgumentParser) -> None:
    """Bearer-token auth and TLS / mutual TLS (README "Authentication and TLS"); none of them: plaintext, open."""
    p.add_argument("--auth-token-file", default=None, metavar="FILE",
                   help="every call but grpc.health.v1 needs `authorization: Bearer <token>` with a token from FILE "
                        "(one per line, at least 16 characters; blank lines and # comments ignored)")
    p.add_argument("--tls-cert", default=None, metavar="FILE",
                   help="serve TLS with this certificate chain (PEM); needs --tls-key")
    p.add_argument("--tls-key", default=None, metavar="FILE", help="the unencrypted private key (PEM) of --tls-cert")
    p.add_argument("--tls-client-ca", default=None, metavar="FILE",
                   help="mutual TLS: clients must present a certificate signed by this CA (PEM)")


def _read_security_files(args: argparse.Namespace) -> argparse.Namespace:
    """`args` plus `auth_tokens` and `tls` read from the security flags' files: once, before Triton or any
    gateway process starts, so a bad file stops start-up at once (the spawned processes get the contents)."""
    tokens = read_token_file(args.auth_token_file) if args.auth_token_file else ()
    tls = read_server_tls(args.tls_cert, args.tls_key, args.tls_client_ca)
    if tokens:
        log.info("bearer-token auth on: %d token(s) from %s; grpc.health.v1 stays open", len(tokens),
                 args.auth_token_file)
        if tls is None and args.host not in ("127.0.0.1", "localhost", "::1"):
            log.warning("bearer tokens will cross the network unencrypted on %s: add --tls-cert and --tls-key",
                        args.host)
    return argparse.Namespace(**{**vars(args), "auth_tokens": tokens, "tls": tls})


READY_TIMEOUT_S = 300


def _web_options(args: argparse.Namespace) -> WebOptions | None:
    """The browser viewer's options from --web-port and --web-origin; None when it is off."""
    if args.web_port < 0:
        return None
    return WebOptions(port=args.web_port, origins=tuple(args.web_origin))


async def serve(args: argparse.Namespace, triton_url: str, on_ready=None, workers=None,
                triton: TritonServer | None = None, counts: ServerCounts | None = None) -> None:
    """One gateway until SIGINT/SIGTERM. `on_ready(port)` runs once it is SERVING (default: print the
    ready line); `workers` (the other gateway processes) are stopped together with this one; `triton`
    (the one `serve` started) is restarted whenever it dies; `counts` is the table the server's
    gateway processes share (None: this one is the whole server)."""
    lexicon = open_lexicon(settings_from_args(args))
    extractor = TritonExtractor(triton_url, wholebody={"auto": None, "on": True, "off": False}[args.wholebody])
    gateway = Gateway(lexicon, extractor, GatewayOptions(host=args.host, port=args.port, workers=args.workers,
                                                         reuse_port=args.reuse_port or args.processes > 1,
                                                         auth_tokens=args.auth_tokens, tls=args.tls,
                                                         limits=limits_from_args(args), web=_web_options(args)),
                      counts=counts)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    with contextlib.ExitStack() as stack:
        metrics_url = "off"
        if args.metrics_port >= 0:
            metrics = stack.enter_context(MetricsServer(gateway.registry, args.host, args.metrics_port))
            metrics_url = f"http://{args.host}:{metrics.port}/metrics"
        supervisor = reaper = None
        try:
            port = await gateway.start()
            if triton is not None:
                supervisor = asyncio.create_task(supervise(triton), name="triton-supervisor")
            if workers is not None:
                reaper = asyncio.create_task(workers.reap_forever(), name="gateway-reaper")
            if workers is not None:
                await asyncio.to_thread(workers.wait_ready, READY_TIMEOUT_S)
            if on_ready is not None:
                on_ready(port)
            else:
                processes = f" ({args.processes} gateway processes)" if args.processes > 1 else ""
                viewer = f"; viewer http://{args.host}:{gateway.web.port}/" if gateway.web is not None else ""
                print(f"SignStream serving on {args.host}:{port}{processes} (health SERVING); lexicon "
                      f"{lexicon.location}; Triton {triton_url}{f' (pid {triton.pid})' if triton else ''}; "
                      f"metrics {metrics_url}{viewer}. Ctrl-C stops it.", flush=True)
            await stop.wait()
            print(f"draining: NOT_SERVING, open streams get {args.grace:g} s ...", flush=True)
        finally:
            for task in (supervisor, reaper):
                if task is not None:
                    task.cancel()
            if workers is not None:
                workers.terminate()          # they drain alongside this one; _serve_all joins them
            await gateway.stop(args.grace)


def _worker_main(args: argparse.Namespace, triton_url: str, ready, parent: int, counts: ServerCounts) -> None:
    """Gateway process i > 0 (spawned): dies with its parent; reports ready through `ready`."""
    die_with_parent()
    if os.getppid() != parent:          # the parent died before the line above took effect
        return
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(args, triton_url, on_ready=lambda port: ready.set(), counts=counts))


class GatewayWorkers:
    """Gateway processes 1..N-1 for `--processes N`, sharing the port of gateway 0 (this process)."""

    def __init__(self, args: argparse.Namespace, triton_url: str, counts: ServerCounts):
        context = multiprocessing.get_context("spawn")
        self.counts = counts
        self.processes, self.ready = [], []
        for i in range(1, args.processes):
            metrics_port = args.metrics_port + i if args.metrics_port > 0 else -1
            child_args = argparse.Namespace(**{**vars(args), "metrics_port": metrics_port})
            event = context.Event()
            process = context.Process(target=_worker_main,
                                      args=(child_args, triton_url, event, os.getpid(), counts.for_process(i)),
                                      name=f"signstream-gateway-{i}", daemon=False)
            process.start()
            self.processes.append(process)
            self.ready.append(event)

    def wait_ready(self, timeout: float) -> None:
        for i, (process, event) in enumerate(zip(self.processes, self.ready), start=1):
            while not event.wait(0.2):
                if not process.is_alive():
                    raise RuntimeError(f"gateway process {i} exited (code {process.exitcode}) before it was ready; "
                                       "see its log lines above")
                timeout -= 0.2
                if timeout <= 0:
                    raise RuntimeError(f"gateway process {i} was not ready within {READY_TIMEOUT_S} s")

    async def reap_forever(self, every_s: float = 1.0) -> None:
        """Zero the shared counts of a gateway process that died (its streams and frames died with it),
        so the server's limits do not stay lowered by what it held."""
        reaped: set[int] = set()
        while True:
            for i, process in enumerate(self.processes, start=1):
                if i not in reaped and process.exitcode is not None:
                    reaped.add(i)
                    self.counts.clear(i)
                    log.error("gateway process %d exited (code %s); its streams ended with it", i, process.exitcode)
            await asyncio.sleep(every_s)

    def terminate(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.terminate()          # SIGTERM: it drains like this one

    def join(self, timeout: float) -> None:
        for process in self.processes:
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join()


async def _serve_all(args: argparse.Namespace, triton_url: str, triton: TritonServer | None = None) -> None:
    if args.processes <= 1:
        await serve(args, triton_url, triton=triton)
        return
    counts = ServerCounts(args.processes)
    workers = GatewayWorkers(args, triton_url, counts)
    try:
        await serve(args, triton_url, workers=workers, triton=triton, counts=counts)
    finally:
        workers.terminate()
        await asyncio.to_thread(workers.join, args.grace + 10)


def _use_glosser(args: argparse.Namespace) -> None:
    """--glosser llm for the text messages of every stream: checked now (a bad URL or prompt file stops
    start-up), then handed to every gateway process in the SIGNSTREAM_GLOSSER / SIGNSTREAM_LLM_*
    environment that stream glossing reads (signstream.text.message)."""
    if args.glosser != "llm":
        return
    from signstream.text.llm import LlmSettings

    try:
        settings = LlmSettings.from_files(args.llm_url, args.llm_model, args.llm_system_prompt, args.llm_prompt,
                                          args.llm_api_key_file, args.llm_timeout)
    except InvalidArgument as exc:
        raise SystemExit(f"signstream serve: {exc.message}") from exc
    os.environ.update({"SIGNSTREAM_GLOSSER": "llm", "SIGNSTREAM_LLM_URL": settings.base_url,
                       "SIGNSTREAM_LLM_MODEL": settings.model, "SIGNSTREAM_LLM_TIMEOUT_S": str(args.llm_timeout)})
    for flag, name in ((args.llm_system_prompt, "SIGNSTREAM_LLM_SYSTEM_PROMPT"), (args.llm_prompt, "SIGNSTREAM_LLM_PROMPT")):
        if flag:
            os.environ[name] = os.path.abspath(flag)
    if settings.api_key:
        os.environ["SIGNSTREAM_LLM_API_KEY"] = settings.api_key
    log.info("text messages glossed by %s at %s (checked against the lexicon)", settings.model, settings.base_url)


def run(args: argparse.Namespace) -> int:
    if args.processes < 0:
        raise SystemExit("signstream serve: --processes must be 0 (one per core) or more")
    _use_glosser(args)
    args = _read_security_files(args)
    args = argparse.Namespace(**{**vars(args), "processes": args.processes or os.cpu_count() or 1})
    limits_from_args(args)              # refuse bad limits before anything starts
    if args.processes > 1 and args.port == 0:
        args = argparse.Namespace(**{**vars(args), "port": free_port(args.host)})   # one port for all of them
    if args.processes > 1 and args.web_port == 0:
        args = argparse.Namespace(**{**vars(args), "web_port": free_port(args.host)})
    if args.triton_url:
        try:
            parse_triton_urls(args.triton_url)
        except InvalidArgument as exc:
            raise SystemExit(f"signstream serve: --triton-url: {exc.message}") from exc
        asyncio.run(_serve_all(args, args.triton_url))
        print("gateway stopped", flush=True)
        return 0
    # While Triton starts, SIGTERM interrupts the start like Ctrl-C; the launcher stops what it began.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with TritonServer(options_from_args(args, grpc_port=0, http_port=0, metrics_port=0)) as triton:
        asyncio.run(_serve_all(args, triton.grpc_url, triton))
        print("gateway stopped; stopping Triton ...", flush=True)
    print("Triton stopped", flush=True)
    return 0
