"""`signstream lexicon demo DIR` and `signstream lexicon list DIR|s3://...`."""
from __future__ import annotations

import argparse
import logging

from signstream.lexicon import open_lexicon
from signstream.lexicon.demo import LETTERS_NOTE, write_demo_lexicon

from .common import add_lexicon_flags, settings_from_args
from .flag_types import COUNT

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lexicon", help="make or inspect a sign lexicon")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    demo = verbs.add_parser("demo", help="write the procedurally animated demo lexicon (no outside data needed)")
    demo.add_argument("dir", metavar="DIR", help="folder to write (created if needed; existing signs are kept)")
    demo.add_argument("--seed", type=int, default=0, help="animation seed (default 0)")
    demo.set_defaults(run=run_demo)

    lst = verbs.add_parser("list", help="print the lexicon's sign IDs, one per line")
    add_lexicon_flags(lst, positional=True)
    lst.add_argument("--prefix", default="", help="only IDs starting with this (¶ optional)")
    lst.add_argument("--limit", type=COUNT, default=0, help="at most this many (0 = all)")
    lst.set_defaults(run=run_list)


def run_demo(args: argparse.Namespace) -> int:
    count = write_demo_lexicon(args.dir, seed=args.seed)
    print(f"wrote {count} demo signs to {args.dir}, {LETTERS_NOTE} among them")
    return 0


def run_list(args: argparse.Namespace) -> int:
    lexicon = open_lexicon(settings_from_args(args))
    for sign_id in lexicon.list_signs(prefix=args.prefix, limit=args.limit):
        print(sign_id)
    return 0
