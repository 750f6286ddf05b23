"""Sign-ID validation: what is accepted, in which canonical form, and what is refused."""
from __future__ import annotations

import unicodedata

import pytest

from signstream.errors import InvalidSignId
from signstream.lexicon.sign_id import MAX_SIGN_ID_LENGTH, canonical_sign_id, display_sign_id


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("hello", "hello"),
        ("\u00b6hello", "hello"),
        ("thank-you", "thank-you"),
        ("HELLO_2", "HELLO_2"),
        ("\u00b61234", "1234"),
        ("ol\u00e1", "ol\u00e1"),
        ("\u00b6\u0441\u043f\u0430\u0441\u0438\u0431\u043e", "\u0441\u043f\u0430\u0441\u0438\u0431\u043e"),
        ("a.b", "a.b"),
        ("x" * MAX_SIGN_ID_LENGTH, "x" * MAX_SIGN_ID_LENGTH),
        ("\u00b6" + "x" * MAX_SIGN_ID_LENGTH, "x" * MAX_SIGN_ID_LENGTH),   # the ¶ does not count
    ],
)
def test_accepts_plausible_ids(raw, canonical):
    assert canonical_sign_id(raw) == canonical


def test_decomposed_and_composed_spellings_are_one_id():
    decomposed = unicodedata.normalize("NFD", "ol\u00e1")
    assert decomposed != "ol\u00e1"
    assert canonical_sign_id(decomposed) == "ol\u00e1"


def test_display_round_trip():
    assert display_sign_id(canonical_sign_id("\u00b6hello")) == "\u00b6hello"
    assert canonical_sign_id(display_sign_id("hello")) == "hello"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "\u00b6",
        "a/b",
        "a\\b",
        "..",
        "a..b",
        ".",
        "\u00b6.",
        "a\x00b",
        "a\nb",
        "a\tb",
        "a b",
        "a\u00a0b",            # no-break space
        "a\u2028b",            # line separator
        "a\u200bb",            # zero-width space (format character)
        "a\u202eb",            # right-to-left override
        "a\ue000b",            # private use
        "a\ud800b",            # lone surrogate
        "a\U000e0fffb",        # unassigned
        "x" * (MAX_SIGN_ID_LENGTH + 1),
        "x" * 100_000,
        # Decision: only ONE leading ¶ is a marker; a second one is part of no valid ID.
        "\u00b6\u00b6a",
        "a\u00b6b",
    ],
)
def test_rejects_implausible_ids(raw):
    with pytest.raises(InvalidSignId):
        canonical_sign_id(raw)


@pytest.mark.parametrize("raw", [None, 42, b"hello", ["hello"]])
def test_rejects_non_strings(raw):
    with pytest.raises(InvalidSignId, match="expected a string"):
        canonical_sign_id(raw)


def test_message_explains_and_truncates():
    with pytest.raises(InvalidSignId) as info:
        canonical_sign_id("bad/" + "y" * 1000)
    message = str(info.value)
    assert "longer than 128" in message
    assert "valid sign ID" in message
    assert "y" * 41 not in message            # the echo is truncated
    assert "1004 characters" in message


def test_message_escapes_control_characters():
    with pytest.raises(InvalidSignId) as info:
        canonical_sign_id("a\x1b[31mred")
    assert "\x1b" not in str(info.value)       # no terminal escape sequences reach logs
    assert "U+001B" in str(info.value)
