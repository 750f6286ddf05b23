"""`signstream text2signs --lexicon DIR "text"`: what each token of a text becomes, one line each.

Each line is tab-separated: the token (with the form looked up in brackets where it differs), then
`sign` and its sign ID(s), `spelled` and its letters with their letter signs, `dropped` (a stop word,
a possessive, a non-manual marker), or `notice` and its code; then why. `--ids` prints only the
sign IDs, in order, for `signstream stream`.
"""
from __future__ import annotations

import argparse
import sys

from signstream.lexicon import display_sign_id, open_lexicon
from signstream.text import POLICIES, Glosser, SpellingRules, plan, vocabulary_of
from signstream.text.fingerspell import LETTER_SIGNS, MAX_SENTENCE_LETTERS, MAX_WORD_LETTERS, NAMES

from .common import add_lexicon_flags, settings_from_args


def add_spelling_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fingerspell", choices=POLICIES, default=NAMES,
                        help="which words without a sign are fingerspelled: names (capitalized inside a sentence, "
                             "and T-O-M / #TOM; the default), unknown (all), never")
    parser.add_argument("--letter-signs", default=LETTER_SIGNS, metavar="ID{}",
                        help=f"the letter signs' IDs, {{}} standing for the letter a-z (default {LETTER_SIGNS})")
    parser.add_argument("--max-word-letters", type=int, default=MAX_WORD_LETTERS,
                        help=f"at most this many letters fingerspell one word (default {MAX_WORD_LETTERS})")
    parser.add_argument("--max-sentence-letters", type=int, default=MAX_SENTENCE_LETTERS,
                        help=f"at most this many fingerspelled letters per sentence (default {MAX_SENTENCE_LETTERS})")


def spelling_rules_from_args(args: argparse.Namespace) -> SpellingRules:
    return SpellingRules(args.fingerspell, args.letter_signs, args.max_word_letters,
                         args.max_sentence_letters).validated()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("text2signs", help="gloss English text into the lexicon's sign IDs, word by word",
                       description="Word-by-word lookup in English order (not sign language grammar): lemma, "
                                   "phrases, synonyms, stop words, fingerspelling.")
    p.add_argument("text", nargs="+", help='the text ("-" reads it from stdin)')
    add_lexicon_flags(p)
    add_spelling_flags(p)
    p.add_argument("--ids", action="store_true", help="print only the sign IDs, in order, on one line")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.text == ["-"] else " ".join(args.text)
    rules = spelling_rules_from_args(args)
    vocabulary = vocabulary_of(open_lexicon(settings_from_args(args)).table)
    glosses = Glosser(vocabulary, rules).gloss(text)
    if args.ids:
        print(" ".join(display_sign_id(step.sign_id) for step in plan(glosses)))
        return 0
    for item in glosses:
        print(item.describe())
    return 0
