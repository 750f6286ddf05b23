"""`signstream bench`: the load generator and the performance figures (code in `benchmarks/`)."""
from __future__ import annotations

import argparse

from signstream.bench import options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure streaming latency and throughput against a gateway",
                       description="Load-generate S concurrent Synthesize streams against a gateway (started "
                                   "here unless --server) and print every performance figure beside its target; "
                                   "or, with --soak MINUTES, soak it with random streams and check it afterwards.")
    options.add_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.soak is not None:
        from signstream.bench.soak import main
    else:
        from signstream.bench.run import main
    return main(args)
