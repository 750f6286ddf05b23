"""The optional LLM glosser (off by default): an OpenAI-compatible chat-completions endpoint asked
for sign IDs, every ID it returns checked against the lexicon.

    glosser = LlmGlosser(vocabulary, rules, LlmSettings(base_url="http://127.0.0.1:8000/v1", model="m"))
    glosser.gloss("Hi, I'm Tom")       # Gloss items, like Glosser.gloss

The answer is read as whitespace- or comma-separated items: a sign ID of the lexicon (with or without
the leading ¶) is a sign; `#TOM` or `T-O-M` is fingerspelled; anything else is looked up as a word
(gloss, lemma, synonyms) by the rules glosser, then fingerspelled by the policy, else an
`LLM_INVALID_ID` Notice. When the endpoint fails (refused, timed out, an HTTP error, an answer that
is not chat-completions JSON), the rules glosser glosses the text and a `GLOSSER_FALLBACK` Notice
says why. The prompts are files (`{text}` and `{signs}` are filled in); the vocabulary sent is the
lexicon's sign IDs with their glosses, at most MAX_PROMPT_SIGNS of them.
"""
from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path

from signstream.errors import InvalidArgument, InvalidSignId
from signstream.lexicon.sign_id import canonical_sign_id
from signstream.text.fingerspell import SpellingRules
from signstream.text.glosser import Glosser
from signstream.text.items import NOTICE, SIGN, SPELLED, Gloss
from signstream.text.vocabulary import Vocabulary

LLM_INVALID_ID = "LLM_INVALID_ID"
GLOSSER_FALLBACK = "GLOSSER_FALLBACK"
MAX_PROMPT_SIGNS = 2000
MAX_ANSWER_ITEMS = 400
SYSTEM_PROMPT = (
    "You turn English text into a sequence of sign IDs of a sign language lexicon, one sign per idea, "
    "in the order a signer would sign them. Answer with sign IDs only, separated by spaces, chosen from "
    "the list you are given. Write a name or a word without a sign as #NAME (it is fingerspelled).")
USER_PROMPT = "Signs (ID: gloss):\n{signs}\n\nText: {text}\n\nSign IDs:"
_SPELLED = re.compile(r"#([^\W\d_]+)|([^\W\d_](?:-[^\W\d_])+)\Z")
_SPLIT = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class LlmSettings:
    base_url: str                        # e.g. http://127.0.0.1:8000/v1 (…/chat/completions is added)
    model: str
    api_key: str = ""                    # sent as a bearer token when given
    system_prompt: str = SYSTEM_PROMPT
    user_prompt: str = USER_PROMPT       # {text} and {signs} are filled in
    timeout_s: float = 10.0

    @classmethod
    def from_files(cls, base_url: str, model: str, system_prompt_file: str | None = None,
                   user_prompt_file: str | None = None, api_key_file: str | None = None,
                   timeout_s: float = 10.0) -> "LlmSettings":
        """Settings from flags: the prompts and the key read from files (the key also from
        $SIGNSTREAM_LLM_API_KEY); InvalidArgument naming the flag when one is wrong."""
        def read(path: str | None, flag: str, default: str) -> str:
            if not path:
                return default
            try:
                return Path(path).read_text(encoding="utf-8")
            except OSError as exc:
                raise InvalidArgument(f"{flag} {path}: cannot be read ({exc.strerror}); give a readable UTF-8 file",
                                      field=flag) from None
        if not base_url.startswith(("http://", "https://")):
            raise InvalidArgument(f"--llm-url {base_url!r} must be an http:// or https:// URL of an OpenAI-compatible "
                                  "API (e.g. http://127.0.0.1:8000/v1)", field="--llm-url")
        if not model:
            raise InvalidArgument("--llm-model is needed with --glosser llm: the model name the endpoint serves",
                                  field="--llm-model")
        user = read(user_prompt_file, "--llm-prompt", USER_PROMPT)
        if "{text}" not in user:
            raise InvalidArgument(f"--llm-prompt {user_prompt_file} has no {{text}}, where the text goes",
                                  field="--llm-prompt")
        key = read(api_key_file, "--llm-api-key-file", os.environ.get("SIGNSTREAM_LLM_API_KEY", "")).strip()
        return cls(base_url.rstrip("/"), model, key, read(system_prompt_file, "--llm-system-prompt", SYSTEM_PROMPT),
                   user, timeout_s)


class LlmUnavailable(Exception):
    """The endpoint did not give a usable answer (the message says why)."""


class LlmGlosser:
    """Glosses through the endpoint; every ID checked, the rules glosser for what is not an ID."""

    def __init__(self, vocabulary: Vocabulary, rules: SpellingRules, settings: LlmSettings):
        self.vocabulary = vocabulary
        self.rules = Glosser(vocabulary, rules)
        self.settings = settings

    def gloss(self, text: str) -> list[Gloss]:
        try:
            answer = self._ask(text)
        except LlmUnavailable as exc:
            note = Gloss("", NOTICE, code=GLOSSER_FALLBACK,
                         why=f"the LLM glosser at {self.settings.base_url} failed ({exc}); the text was glossed "
                             "word by word instead (check the endpoint, or run without --glosser llm)")
            return [note, *self.rules.gloss(text)]
        out: list[Gloss] = []
        for item in [i for i in _SPLIT.split(answer.strip()) if i][:MAX_ANSWER_ITEMS]:
            out += self._item(item)
        return self._letters_as_words(out)

    def _letters_as_words(self, items: list[Gloss]) -> list[Gloss]:
        """Runs of letter signs the LLM returned one by one (fs-t fs-o fs-m) made one spelled word, so
        they join as letters do."""
        letters = {self.rules.rules.letter_sign(c): c for c in "abcdefghijklmnopqrstuvwxyz"}
        out: list[Gloss] = []
        run: list[Gloss] = []
        for item in [*items, None]:
            if item is not None and item.kind == SIGN and len(item.sign_ids) == 1 and item.sign_ids[0] in letters:
                run.append(item)
                continue
            if run:
                word = "".join(letters[g.sign_ids[0]] for g in run)
                out.append(Gloss(" ".join(g.token for g in run), SPELLED, tuple(g.sign_ids[0] for g in run),
                                 "letter signs from the LLM glosser, fingerspelled as one word",
                                 letters="-".join(word.upper())))
                run = []
            if item is not None:
                out.append(item)
        return out

    def _item(self, item: str) -> list[Gloss]:
        spelled = _SPELLED.match(item)
        if spelled:
            letters = (spelled.group(1) or spelled.group(2)).replace("-", "")
            return [self.rules.spell(item, letters, "the LLM asked to fingerspell it")]
        try:
            sign_id = canonical_sign_id(item)
        except InvalidSignId:
            sign_id = None
        if sign_id is not None and sign_id in self.vocabulary:
            return [Gloss(item, SIGN, (sign_id,), "from the LLM glosser; a sign of the lexicon")]
        word = item.lstrip("\u00b6")
        fallback = self.rules.gloss_word(word) if re.fullmatch(r"[^\W\d_]+(?:['-][^\W\d_]+)*", word) else []
        if fallback and fallback[0].kind != NOTICE:
            return [replace(g, token=item, why=f"the LLM returned {item!r}, not a sign ID of the lexicon; read as a "
                                                f"word: {g.why}") for g in fallback]
        return [Gloss(item, NOTICE, code=LLM_INVALID_ID,
                      why=f"the LLM returned {item[:60]!r}, which is not a sign ID of the lexicon and not a word "
                          "it has a sign for; skipped (the glosser checks every ID; improve the prompt or the "
                          "lexicon's words)")]

    def _prompt(self, text: str) -> str:
        signs = "\n".join(f"{s}: {g}" for s, g in self.vocabulary.glossary()[:MAX_PROMPT_SIGNS])
        return self.settings.user_prompt.replace("{signs}", signs).replace("{text}", text)

    def _ask(self, text: str) -> str:
        body = {"model": self.settings.model, "temperature": 0,
                "messages": [{"role": "system", "content": self.settings.system_prompt},
                             {"role": "user", "content": self._prompt(text)}]}
        headers = {"Content-Type": "application/json"}
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        request = urllib.request.Request(self.settings.base_url + "/chat/completions", json.dumps(body).encode(),
                                         headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as response:
                document = json.loads(response.read(4 << 20).decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise LlmUnavailable(f"HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise LlmUnavailable(f"cannot reach it: {getattr(exc, 'reason', exc)}") from None
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise LlmUnavailable("its answer is not JSON") from None
        try:
            content = document["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise LlmUnavailable("its answer has no choices[0].message.content") from None
        if not isinstance(content, str):
            raise LlmUnavailable("its answer's content is not text")
        return content
