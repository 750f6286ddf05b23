"""`signstream text2signs --lexicon DIR "text"`: what each token of a text becomes, one line each.

Each line is tab-separated: the token (with the form looked up in brackets where it differs), then
`sign` and its sign ID(s), `spelled` and its letters with their letter signs, `dropped` (a stop word,
a possessive, a non-manual marker), or `notice` and its code; then why. `--ids` prints only the
sign IDs, in order, for `signstream stream`. `--glosser llm` asks an OpenAI-compatible endpoint
instead (signstream.text.llm), every ID it returns checked against the lexicon.
"""
from __future__ import annotations

import argparse
import os
import sys

from signstream.lexicon import display_sign_id, open_lexicon
from signstream.text import POLICIES, SpellingRules, Vocabulary, glosser_for, plan, vocabulary_of
from signstream.text.llm import LlmSettings
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


def add_glosser_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--glosser", choices=("rules", "llm"), default="rules",
                        help="rules (word-by-word lookup, the default) or llm (an OpenAI-compatible endpoint; every "
                             "ID it returns is checked against the lexicon)")
    parser.add_argument("--llm-url", default=os.environ.get("SIGNSTREAM_LLM_URL", ""), metavar="URL",
                        help="the endpoint's base URL, e.g. http://127.0.0.1:8000/v1 (default $SIGNSTREAM_LLM_URL)")
    parser.add_argument("--llm-model", default=os.environ.get("SIGNSTREAM_LLM_MODEL", ""),
                        help="the model name it serves (default $SIGNSTREAM_LLM_MODEL)")
    parser.add_argument("--llm-system-prompt", default=None, metavar="FILE", help="the system prompt (a default is built in)")
    parser.add_argument("--llm-prompt", default=None, metavar="FILE",
                        help="the user prompt, with {text} and {signs} (the lexicon's IDs and glosses) to fill in")
    parser.add_argument("--llm-api-key-file", default=None, metavar="FILE",
                        help="a bearer token for the endpoint (default $SIGNSTREAM_LLM_API_KEY, or none)")
    parser.add_argument("--llm-timeout", type=float, default=10.0, help="seconds to wait for an answer (default 10)")


def glosser_from_args(args: argparse.Namespace, vocabulary: Vocabulary):
    """The rules Glosser, or the LlmGlosser with --glosser llm."""
    settings = None if args.glosser != "llm" else LlmSettings.from_files(
        args.llm_url, args.llm_model, args.llm_system_prompt, args.llm_prompt, args.llm_api_key_file, args.llm_timeout)
    return glosser_for(vocabulary, spelling_rules_from_args(args), settings)


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
    add_glosser_flags(p)
    p.add_argument("--ids", action="store_true", help="print only the sign IDs, in order, on one line")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.text == ["-"] else " ".join(args.text)
    vocabulary = vocabulary_of(open_lexicon(settings_from_args(args)).table)
    glosses = glosser_from_args(args, vocabulary).gloss(text)
    if args.ids:
        print(" ".join(display_sign_id(step.sign_id) for step in plan(glosses)))
        return 0
    for item in glosses:
        print(item.describe())
    return 0
