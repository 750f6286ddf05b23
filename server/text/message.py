"""A stream's text message glossed against its lexicon, by the glosser this process uses: the rules
glosser, or the LLM glosser when `SIGNSTREAM_GLOSSER=llm` (with `SIGNSTREAM_LLM_URL`,
`SIGNSTREAM_LLM_MODEL` and optionally `SIGNSTREAM_LLM_SYSTEM_PROMPT` / `SIGNSTREAM_LLM_PROMPT` files,
`SIGNSTREAM_LLM_API_KEY`, `SIGNSTREAM_LLM_TIMEOUT_S`) is set in the server's environment. The
session and the frame-count rule (benchmarks/expect.py) both gloss through `gloss_message`."""
from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache

from signstream.errors import InvalidArgument
from signstream.lexicon.table import SignTable
from signstream.text.fingerspell import SpellingRules
from signstream.text.glosser import Glosser
from signstream.text.items import NOTICE, TEXT_TOO_LONG, Gloss
from signstream.text.llm import LlmGlosser, LlmSettings
from signstream.text.vocabulary import Vocabulary, vocabulary_of

MAX_TEXT_CHARS = 4096       # one text message; a longer one is a TEXT_TOO_LONG Notice
GLOSSERS = ("rules", "llm")


def llm_settings_from_env(env: Mapping[str, str]) -> LlmSettings | None:
    """The LLM glosser's settings when SIGNSTREAM_GLOSSER is llm, None for rules (the default);
    InvalidArgument naming the variable when it is wrong."""
    choice = env.get("SIGNSTREAM_GLOSSER", "rules") or "rules"
    if choice not in GLOSSERS:
        raise InvalidArgument(f"SIGNSTREAM_GLOSSER {choice!r} is not known; use rules (the default) or llm",
                              field="SIGNSTREAM_GLOSSER")
    if choice == "rules":
        return None
    return LlmSettings.from_files(env.get("SIGNSTREAM_LLM_URL", ""), env.get("SIGNSTREAM_LLM_MODEL", ""),
                                  env.get("SIGNSTREAM_LLM_SYSTEM_PROMPT"), env.get("SIGNSTREAM_LLM_PROMPT"),
                                  timeout_s=float(env.get("SIGNSTREAM_LLM_TIMEOUT_S", "10")))


@lru_cache(maxsize=1)
def _process_llm_settings() -> LlmSettings | None:
    return llm_settings_from_env(os.environ)


def glosser_for(vocabulary: Vocabulary, rules: SpellingRules, llm: LlmSettings | None = None):
    """The glosser of a stream: LLM with `llm` settings, else the rules glosser."""
    return Glosser(vocabulary, rules) if llm is None else LlmGlosser(vocabulary, rules, llm)


def gloss_message(table: SignTable, rules: SpellingRules, text: str) -> list[Gloss]:
    """A text message glossed by this process's glosser; a TEXT_TOO_LONG Notice instead when it is
    over MAX_TEXT_CHARS."""
    if len(text) > MAX_TEXT_CHARS:
        return [Gloss(text[:40] + "...", NOTICE, code=TEXT_TOO_LONG,
                      why=f"a text of {len(text)} characters is over the {MAX_TEXT_CHARS} one message may have; "
                          "skipped (send it as several texts, a few sentences each)")]
    return glosser_for(vocabulary_of(table), rules, _process_llm_settings()).gloss(text)
