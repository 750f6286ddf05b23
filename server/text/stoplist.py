"""English words dropped when the lexicon has no sign for them: articles, forms of "be", most
prepositions and auxiliaries. Sign languages leave most of them out or show them another way (word
order, space, the face); a lexicon sign for one of them still wins, as the lookup comes first."""
from __future__ import annotations

STOP_WORDS = frozenset("""
a an the
am is are was were be been being
do does did doing
to of at by for from in into on onto with about as than
and or but so if then
that this these those there
will would shall should can could may might must
have has had having
just very really quite also too
's
""".split())


def is_stop_word(*forms: str) -> bool:
    """Whether any of the forms given (the word, its lemma) is a stop word."""
    return any(form in STOP_WORDS for form in forms)
