"""Sign IDs: validation and the canonical form used as the key of the sign table.

Clients send IDs with or without the seed's leading `¶` (U+00B6), e.g. `¶hello` or `hello`; the
canonical form drops that one marker and is NFC-normalized so that the composed and decomposed
spellings of `olá` are the same sign. Validation is pure string work: it never touches a store, so
an implausible ID is refused before any I/O (and before it could ever become part of a store key).

Decisions:
- Exactly ONE leading `¶` is stripped. `¶` anywhere in the rest (so `¶¶a`, `a¶b`) is rejected:
  `display_sign_id` must be a lossless round trip, and a stray marker is a client bug worth seeing.
- Length is counted in code points of the NFC form, at most `MAX_SIGN_ID_LENGTH`.
"""
from __future__ import annotations

import unicodedata

from signstream.errors import InvalidSignId

SIGN_MARK = "\u00b6"            # ¶, the seed's sign-ID marker
MAX_SIGN_ID_LENGTH = 128
_REPR_LIMIT = 40                 # keep error messages short even for a megabyte of garbage

_VALID_HINT = (
    "a valid sign ID is 1-128 letters, digits or punctuation such as '-', '_' or '.', "
    "with or without one leading '\u00b6' (e.g. '\u00b6hello' or 'thank-you')"
)


def _safe_repr(raw: object) -> str:
    """repr of a (possibly huge or hostile) value, truncated; repr escapes control characters."""
    if not isinstance(raw, str):
        return f"<{type(raw).__name__}>"
    if len(raw) > _REPR_LIMIT:
        return repr(raw[:_REPR_LIMIT]) + f"... ({len(raw)} characters)"
    return repr(raw)


def _reject(raw: object, problem: str) -> InvalidSignId:
    return InvalidSignId(f"invalid sign ID {_safe_repr(raw)}: {problem}; {_VALID_HINT}",
                         field="sign_id")


def _bad_character(text: str) -> str | None:
    """Describe the first character that cannot be part of an ID, or None if all are fine."""
    for ch in text:
        category = unicodedata.category(ch)
        # Category C = control (Cc), format (Cf, e.g. zero-width joiners and bidi overrides),
        # surrogate (Cs), private use (Co) and unassigned (Cn): invisible or meaningless in an ID.
        if category.startswith("C"):
            return f"it contains the control/format/unassigned character U+{ord(ch):04X}"
        # Z* covers non-ASCII spaces and line/paragraph separators; isspace() adds \t\n etc.
        if ch.isspace() or category.startswith("Z"):
            return f"it contains whitespace (U+{ord(ch):04X})"
        if ch in "/\\":
            return "it contains a path separator ('/' or '\\')"
        if ch == SIGN_MARK:
            return "'\u00b6' is only allowed once, as the first character"
    return None


def canonical_sign_id(raw: str) -> str:
    """Validate a client-supplied sign ID and return its canonical form (no `¶`, NFC).

    Raises InvalidSignId (message says what is wrong and what a valid ID looks like).
    """
    if not isinstance(raw, str):
        raise _reject(raw, f"expected a string, got {type(raw).__name__}")
    text = raw[1:] if raw.startswith(SIGN_MARK) else raw
    if not text:
        raise _reject(raw, "it is empty")
    # Check the length before normalizing so a huge input costs O(limit), not O(len).
    if len(text) > 4 * MAX_SIGN_ID_LENGTH:
        raise _reject(raw, f"it is longer than {MAX_SIGN_ID_LENGTH} characters")
    text = unicodedata.normalize("NFC", text)
    if len(text) > MAX_SIGN_ID_LENGTH:
        raise _reject(raw, f"it is longer than {MAX_SIGN_ID_LENGTH} characters")
    problem = _bad_character(text)
    if problem is not None:
        raise _reject(raw, problem)
    # IDs end up inside store keys (clips/<id>.npz); '.' and '..' would name directories.
    if text == "." or ".." in text:
        raise _reject(raw, "it is '.' or contains '..'")
    return text


def display_sign_id(canonical: str) -> str:
    """The form shown to people and sent back in notices: `¶` + canonical ID."""
    return SIGN_MARK + canonical
