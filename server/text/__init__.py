"""Text in, sign IDs out: word-by-word glossing against a lexicon's sign table, with lemmas,
phrases, synonyms, a stop list and fingerspelling from letter signs (see glosser.py).

    from signstream.text import Glosser, SpellingRules, plan, vocabulary_of
    glosses = Glosser(vocabulary_of(lexicon.table), SpellingRules("names")).gloss("Hi, I'm Tom!")
    steps = plan(glosses)                 # the signs to synthesize, letters with their joins
"""
from signstream.text.fingerspell import POLICIES, SpellingRules
from signstream.text.glosser import Glosser, gloss_text
from signstream.text.items import DROPPED, KINDS, NOTICE, SIGN, SPELLED, Gloss, Text
from signstream.text.message import MAX_TEXT_CHARS, gloss_message, glosser_for
from signstream.text.plan import Step, plan, staged
from signstream.text.vocabulary import Vocabulary, vocabulary_of

__all__ = ["DROPPED", "Gloss", "Glosser", "KINDS", "MAX_TEXT_CHARS", "NOTICE", "POLICIES", "SIGN", "SPELLED",
           "SpellingRules", "Step", "Text", "Vocabulary", "gloss_message", "gloss_text", "glosser_for", "plan", "staged",
           "vocabulary_of"]
