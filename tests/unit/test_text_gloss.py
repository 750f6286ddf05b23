"""Glossing text: lemma and gloss golden pairs, phrases, synonyms, stop words, the fingerspelling
policies and caps, SignMail gloss input, NFC, and the Notices for names, digits, apostrophes, emoji and
letters outside a-z."""
from __future__ import annotations

import unicodedata

import pytest

from signstream.errors import InvalidArgument
from signstream.lexicon.demo import demo_signs
from signstream.lexicon.table import SignEntry
from signstream.text import DROPPED, NOTICE, SIGN, SPELLED, Glosser, SpellingRules, Vocabulary, plan
from signstream.text.lemma import lemma
from signstream.text.tokens import tokenize

LETTERS = "abcdefghijklmnopqrstuvwxyz"
EXTRA = {"go": "GO", "child": "CHILD", "mouse": "MOUSE", "foot": "FOOT", "run": "RUN", "woman": "WOMAN",
         "tooth": "TOOTH", "see": "SEE", "write": "WRITE", "knife": "KNIFE", "happy": "HAPPY", "me": "ME"}


def entry(sign_id: str, gloss: str | None = None, words: tuple[str, ...] = ()) -> SignEntry:
    return SignEntry(sign_id, f"clips/{sign_id}.npz", 0, 9, 25.0, gloss, words)


def vocabulary(*more: SignEntry, letters: bool = True) -> Vocabulary:
    entries = [entry(s.sign_id, s.gloss) for s in demo_signs()]
    entries += [entry(k, v) for k, v in EXTRA.items()] + [entry("home", "HOME", ("house", "flat"))]
    entries += [entry(f"fs-{c}", f"FS-{c.upper()}") for c in LETTERS] if letters else []
    return Vocabulary(entries + list(more))


@pytest.fixture(scope="module")
def glosser() -> Glosser:
    return Glosser(vocabulary())


def signs(glosser: Glosser, text: str) -> list[str]:
    return [s for item in glosser.gloss(text) if item.kind == SIGN for s in item.sign_ids]


# (word or phrase, the sign it glosses to): lemmas, glosses, gloss words, phrases and synonyms
GOLDEN = [
    ("went", "go"), ("going", "go"), ("children", "child"), ("mice", "mouse"), ("feet", "foot"),
    ("running", "run"), ("ran", "run"), ("women", "woman"), ("teeth", "tooth"), ("saw", "see"),
    ("wrote", "write"), ("knives", "knife"), ("happier", "happy"), ("friends", "friend"),
    ("learning", "learn"), ("learned", "learn"), ("helped", "help"), ("helping", "help"), ("wants", "want"),
    ("signs", "sign"), ("signed", "sign"), ("mornings", "morning"), ("names", "name"), ("named", "name"),
    ("better", "good"), ("houses", "home"), ("flat", "home"), ("HELLO", "hello"), ("Thank-You", "thank-you"),
    ("thank you", "thank-you"), ("Thank you", "thank-you"), ("thanks", "thank-you"), ("hi", "hello"),
    ("hey", "hello"), ("yeah", "yes"), ("nope", "no"), ("not", "no"), ("pal", "friend"), ("buddies", "friend"),
    ("studying", "learn"), ("assisted", "help"), ("wishes", "want"), ("please", "please"), ("where", "where"),
]


@pytest.mark.parametrize("text, sign_id", GOLDEN)
def test_golden_pairs(glosser, text, sign_id):
    assert signs(glosser, text) == [sign_id]


def test_there_are_at_least_30_golden_pairs():
    assert len(GOLDEN) >= 30


def test_lemmas():
    assert [lemma(w) for w in ("went", "children", "mice", "was", "does", "studying")] == \
        ["go", "child", "mouse", "be", "do", "study"]


def test_a_sign_for_the_word_itself_wins_over_its_lemma_and_over_the_stop_list():
    v = vocabulary(entry("better", "BETTER"), entry("the", "THE"))
    assert signs(Glosser(v), "better the") == ["better", "the"]


def test_stop_words_are_dropped_and_say_so(glosser):
    items = glosser.gloss("The friend is at the door")
    dropped = [i.token for i in items if i.kind == DROPPED]
    assert dropped == ["The", "is", "at", "the"]
    assert all("stop word" in i.why for i in items if i.kind == DROPPED)


def test_the_longest_phrase_wins():
    v = vocabulary(entry("good-morning", "GOOD-MORNING"))
    assert signs(Glosser(v), "good morning, friend") == ["good-morning", "friend"]
    assert signs(Glosser(vocabulary()), "good morning, friend") == ["good", "morning", "friend"]


def test_names_are_fingerspelled_and_sentence_starts_are_not(glosser):
    items = glosser.gloss("Hello Tom. Tom learns.")
    assert [(i.token, i.kind) for i in items] == [("Hello", SIGN), ("Tom", SPELLED), ("Tom", NOTICE), ("learns", SIGN)]
    assert items[1].letters == "T-O-M" and items[1].sign_ids == ("fs-t", "fs-o", "fs-m")
    assert "capitalized inside a sentence" in items[1].why
    notice = items[2]
    assert notice.code == "UNKNOWN_WORD" and "#TOM" in notice.why and "fingerspell" in notice.why


def test_policies():
    v = vocabulary()
    text = "hello Tom, zebra"
    assert [i.kind for i in Glosser(v, SpellingRules("names")).gloss(text)] == [SIGN, SPELLED, NOTICE]
    assert [i.kind for i in Glosser(v, SpellingRules("unknown")).gloss(text)] == [SIGN, SPELLED, SPELLED]
    never = Glosser(v, SpellingRules("never")).gloss(text + " T-O-M")
    assert [i.kind for i in never] == [SIGN, NOTICE, NOTICE, NOTICE]
    assert "fingerspell is never" in never[-1].why
    with pytest.raises(InvalidArgument, match="fingerspell 'sometimes' is not known; choose one of names"):
        SpellingRules("sometimes").validated()
    assert SpellingRules.resolved("").policy == "names"


def test_caps_per_word_and_per_sentence():
    g = Glosser(vocabulary(), SpellingRules("unknown", max_word_letters=5, max_sentence_letters=8))
    items = g.gloss("zebra giraffe cat dog. dog cat")
    assert [i.kind for i in items] == [SPELLED, NOTICE, SPELLED, NOTICE, SPELLED, SPELLED]
    assert "7 letters, more than the 5 one word may be fingerspelled" in items[1].why
    assert "already has 8 fingerspelled letters" in items[3].why and "raise the per-sentence cap" in items[3].why


def test_signmail_gloss_line():
    items = Glosser(vocabulary()).gloss("ME NAME #TOM [brow-raise] WHERE T-O-M? HELLO")
    assert [(i.kind, i.sign_ids[:1]) for i in items] == [
        (SIGN, ("me",)), (SIGN, ("name",)), (SPELLED, ("fs-t",)), (DROPPED, ()), (SIGN, ("where",)),
        (SPELLED, ("fs-t",)), (SIGN, ("hello",))]
    assert "non-manual marker" in items[3].why


def test_capitals_in_a_gloss_line_are_glosses_not_names():
    items = Glosser(vocabulary()).gloss("ME WANT ZEBRA")
    assert items[-1].kind == NOTICE and items[-1].code == "UNKNOWN_WORD"


def test_digits_are_number_signs_when_the_lexicon_has_them():
    v = vocabulary(*[entry(f"num-{d}", d) for d in "0123456789"], entry("ten", "TEN"))
    g = Glosser(v)
    assert signs(g, "42") == ["num-4", "num-2"]
    assert signs(g, "10") == ["ten"]                              # the whole number, by its English word


def test_digits_are_spelled_as_words_or_a_notice():
    g = Glosser(vocabulary())
    spelled, = g.gloss("42")
    assert spelled.kind == SPELLED and spelled.code == "NUMBER_SPELLED" and spelled.letters == "F-O-R-T-Y-T-W-O"
    assert "add signs glossed 0-9" in spelled.why
    for text in ("1234", "3.5", "10:30"):
        notice, = g.gloss(text)
        assert notice.kind == NOTICE and notice.code == "UNKNOWN_NUMBER" and "0-9" in notice.why, text
    notice, = Glosser(vocabulary(), SpellingRules("never")).gloss("7")
    assert notice.code == "UNKNOWN_NUMBER" and "never" in notice.why


def test_apostrophes():
    g = Glosser(vocabulary())
    items = g.gloss("Don't you want Tom's help? Let's go, O'Brien.")
    assert [(i.token, i.word, i.kind) for i in items] == [
        ("Don't", "Do", DROPPED), ("Don't", "no", SIGN), ("you", "", NOTICE), ("want", "", SIGN),
        ("Tom's", "Tom", SPELLED), ("Tom's", "'s", DROPPED), ("help", "", SIGN),
        ("Let's", "Let", NOTICE), ("Let's", "us", NOTICE), ("go", "", SIGN), ("O'Brien", "", SPELLED)]
    assert items[5].why.startswith("possessive")
    assert items[-1].letters == "O-B-R-I-E-N"
    typographic = g.gloss("Tom\u2019s")                        # ’ reads as '
    assert [i.kind for i in typographic] == [NOTICE, DROPPED]   # Tom starts the sentence: not a name


def test_emoji_and_symbols_are_notices_naming_them():
    items = Glosser(vocabulary()).gloss("hello \U0001F44B\U0001F3FD \u2764\ufe0f")
    assert [i.kind for i in items] == [SIGN, NOTICE, NOTICE]
    assert items[1].code == "UNKNOWN_SYMBOL" and "waving hand sign" in items[1].why and "skipped" in items[1].why
    assert "heavy black heart" in items[2].why
    v = vocabulary(entry("wave", "WAVE", ("\U0001F44B",)))
    assert signs(Glosser(v), "\U0001F44B") == ["wave"]


def test_letters_outside_a_to_z():
    g = Glosser(vocabulary())
    items = g.gloss("hello José, Łukasz and Straße. hello 北京 and Ωmega")
    jose, lukasz, strasse = items[1], items[2], items[4]
    assert jose.letters == "J-O-S-E" and jose.code == "LETTERS_REPLACED" and "é as E" in jose.why
    assert lukasz.letters == "L-U-K-A-S-Z" and "Ł as L" in lukasz.why
    assert strasse.letters == "S-T-R-A-S-S-E" and "ß as SS" in strasse.why
    beijing, omega = items[6], items[8]
    assert beijing.code == "UNKNOWN_WORD"                        # not capitalized: not a name
    assert omega.code == "CANNOT_FINGERSPELL" and "'Ω' (U+03A9) is not a letter a-z" in omega.why
    spelled = Glosser(vocabulary(), SpellingRules("unknown")).gloss("北京")[0]
    assert spelled.code == "CANNOT_FINGERSPELL" and "letter signs exist for a-z only" in spelled.why


def test_text_is_nfc_normalized():
    decomposed = unicodedata.normalize("NFD", "hello José")
    assert decomposed != "hello José"
    assert Glosser(vocabulary()).gloss(decomposed) == Glosser(vocabulary()).gloss("hello José")
    assert tokenize(decomposed)[1].text == "José"


def test_without_letter_signs_a_name_is_a_notice_saying_how_to_get_them():
    item = Glosser(vocabulary(letters=False)).gloss("hello Tom")[1]
    assert item.code == "CANNOT_FINGERSPELL" and "no letter sign ¶fs-t" in item.why
    assert "signstream lexicon demo DIR" in item.why


def test_a_configurable_letter_mapping():
    v = vocabulary(*[entry(f"letter_{c}") for c in LETTERS], letters=False)
    item = Glosser(v, SpellingRules(letter_signs="letter_{}")).gloss("hello Ann")[1]
    assert item.sign_ids == ("letter_a", "letter_n", "letter_n")
    with pytest.raises(InvalidArgument, match="must be a sign ID with {} once"):
        SpellingRules(letter_signs="fs/{}").validated()


def test_an_empty_text_is_a_notice():
    item, = Glosser(vocabulary()).gloss(" ... !")
    assert item.kind == NOTICE and item.code == "EMPTY_TEXT"


def test_plan_marks_letters_and_their_joins():
    steps = plan(Glosser(vocabulary()).gloss("hello Tom, thank you"))
    assert [s.sign_id for s in steps] == ["hello", "fs-t", "fs-o", "fs-m", "thank-you"]
    assert [s.letter for s in steps] == [False, True, True, True, False]
    joins = [s.join(25.0) for s in steps]
    assert joins[0] is None
    assert joins[1].frames is None and not joins[1].trim and joins[1].hold == 0   # into the word: the usual length
    assert joins[2].frames == 3 and joins[3].frames == 3                          # 3 frames at 25 fps
    assert joins[3].hold == 8 and joins[2].hold == 0                              # the last letter is held
    assert joins[4].frames is None and not joins[4].trim                          # keeps the hold whole
    assert steps[2].join(50.0).frames == 6
