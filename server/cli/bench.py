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
    # The soak passes some flags to the `serve` it starts only if serve has them: the CLI hands it
    # serve's flags (the bench does not import the CLI).
    p.set_defaults(run=lambda args: run(args, accepted_flags(sub.choices["serve"])))


def accepted_flags(parser: argparse.ArgumentParser) -> frozenset[str]:
    """Every option string `parser` takes (e.g. `serve`'s, for the soak)."""
    return frozenset(flag for action in parser._actions for flag in action.option_strings)


def run(args: argparse.Namespace, serve_flags: frozenset[str] = frozenset()) -> int:
    if args.gesture:
        from signstream.bench.gesture_eval import main as gesture_main

        return gesture_main(args)
    if args.renderer == "neural" and args.streams is not None:
        from signstream.bench.neural_streams import main as neural_streams_main

        return neural_streams_main(args)
    if args.renderer == "neural":
        from signstream.bench.neural import main as neural_main

        return neural_main(args)
    if args.soak is not None:
        from signstream.bench.soak import main

        return main(args, serve_flags)
    from signstream.bench.run import main

    return main(args)
