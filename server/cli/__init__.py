"""`signstream` command line: one module per verb, errors mapped to exit codes in one place.

Exit codes (README "CLI" lists them too): 0 ok; 2 bad input (invalid or unknown sign IDs, bad flags,
unusable style image); 3 the lexicon or its store cannot be used (or the gateway answered with another
failure); 4 the gateway cannot be reached; 5 the gateway refused the credentials; 130 interrupted;
1 anything unexpected (a bug: please report it).
"""
from __future__ import annotations

import argparse
import logging
import sys

from signstream import __version__
from signstream.errors import GatewayUnreachable, InvalidArgument, NotAuthorized, SignStreamError, UnknownSign

from . import bench, engines, extract, generate, gesture, ingest, lexicon, models, quality, renderer, serve, stream, text2signs, triton

COMMANDS = (generate, lexicon, serve, stream, gesture, triton, extract, ingest, engines, bench, quality, models, renderer,
            text2signs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="signstream", description="SignStream: sign IDs in, signing avatar frames out.")
    parser.add_argument("--version", action="version", version=f"signstream {__version__}")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO (default), WARNING, ERROR")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


EXIT_CODES: tuple[tuple[type[SignStreamError], int], ...] = (
    (InvalidArgument, 2), (UnknownSign, 2), (GatewayUnreachable, 4), (NotAuthorized, 5))
OTHER_ERROR_EXIT = 3        # the lexicon or its store, or another failure the gateway answered with


def exit_code(error: SignStreamError) -> int:
    return next((code for kind, code in EXIT_CODES if isinstance(error, kind)), OTHER_ERROR_EXIT)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=(args.log_level or "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.run(args) or 0)
    except SignStreamError as exc:
        print(f"signstream {args.command}: error: {exc.message}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        print(f"signstream {args.command}: interrupted", file=sys.stderr)
        return 130
