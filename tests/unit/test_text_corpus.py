"""The checked-in corpus (tests/data/text/corpus.txt: everyday sentences, a voicemail, SignMail gloss
lines) glossed against the demo lexicon: every token is classified, every sign and letter it names is
in the lexicon (no UNKNOWN_SIGN when it streams), and the result is the one checked in
(corpus.expected; regenerate it with `python tests/unit/test_text_corpus.py` after a deliberate change)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from signstream.config import Settings
from signstream.lexicon import open_lexicon
from signstream.text import KINDS, Glosser, plan, vocabulary_of
from signstream.text.tokens import normalize, tokenize

DATA = Path(__file__).resolve().parents[1] / "data" / "text"
CORPUS, EXPECTED = DATA / "corpus.txt", DATA / "corpus.expected"


def sentences() -> list[str]:
    return [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]


def glossed(lexicon) -> str:
    glosser = Glosser(vocabulary_of(lexicon.table))
    return "".join(f"> {text}\n" + "".join(f"{item.describe()}\n" for item in glosser.gloss(text)) for text in sentences())


@pytest.fixture(scope="module")
def lexicon(demo_lexicon_dir):
    return open_lexicon(Settings(lexicon=str(demo_lexicon_dir)))


def test_the_corpus_has_30_sentences_a_voicemail_and_signmail_gloss_lines():
    lines = sentences()
    assert len(lines) >= 30
    assert any("call me back" in line.lower() for line in lines)                       # a voicemail
    assert any("#" in line and "[" in line and line.split()[0].isupper() for line in lines)   # SignMail gloss


def test_every_token_is_classified(lexicon):
    glosser = Glosser(vocabulary_of(lexicon.table))
    for text in sentences():
        items = glosser.gloss(text)
        assert all(item.kind in KINDS and item.why for item in items), text
        covered = {item.span for item in items}
        for token in tokenize(text):
            assert any(a <= token.start and token.end <= b for a, b in covered), (text, token)
        assert all(normalize(text)[a:b] for a, b in covered)


def test_every_sign_it_names_is_in_the_demo_lexicon(lexicon):
    glosser = Glosser(vocabulary_of(lexicon.table))
    named = [step.sign_id for text in sentences() for step in plan(glosser.gloss(text))]
    assert len(named) > 100
    assert lexicon.missing(named) == []
    assert any(s.startswith("fs-") for s in named)


def test_the_glosses_are_the_checked_in_ones(lexicon):
    assert glossed(lexicon) == EXPECTED.read_text(encoding="utf-8")


if __name__ == "__main__":       # regenerate corpus.expected
    import tempfile

    from signstream.lexicon.demo import write_demo_lexicon

    with tempfile.TemporaryDirectory() as tmp:
        write_demo_lexicon(tmp)
        EXPECTED.write_text(glossed(open_lexicon(Settings(lexicon=tmp))), encoding="utf-8")
    print(f"wrote {EXPECTED}", file=sys.stderr)
