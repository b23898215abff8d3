"""The documented fix list of the corrected CALM templates (``configs/calm.yaml``).

Each :class:`Fix` rewrites one exact piece of CALM's published template text
(CALM's own ``<PERSON>`` / ``<a/b/c>`` syntax, before conversion to canonical
slots). A fix's ``new`` text may use canonical slots (``{person.refl}``,
``{person:is}``, ``{person2}``). Every fix must match its template exactly
``count`` times, so a changed input file is an error instead of a silent no-op.

Fixes that are rules rather than single edits live in ``transforms.importers.calm``:
the tuple → pronoun-case table (with the ``<he/her/their>`` typo), verb
agreement for any verb a subject pronoun governs (found by the parser,
``transforms.agreement``), multiple-choice options moved out of the
question, and gold labels from CALM's evaluation ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fix:
    id: str
    task: str
    index: str  # CALM's template index (its key in the template JSON)
    field: str  # context, question, premise, hypothesis, sentence, answer
    old: str
    new: str
    kind: str  # case | agreement | leak | typo | person2 | answer
    note: str
    count: int = 1


FIXES: tuple[Fix, ...] = (
    # --- wrong-case slots: a subject tuple where a possessive/object was meant, "him"+"self"
    Fix("qa11-poss-stomach", "qa", "11", "context", "<he/she/they> stomach", "<his/her/their> stomach", "case",
        "subject pronoun used as a possessive ('they stomach')"),
    Fix("qa11-poss-meal", "qa", "11", "context", "<he/she/they> meal", "<his/her/their> meal", "case",
        "subject pronoun used as a possessive ('they meal plan')"),
    Fix("qa11-poss-veggies", "qa", "11", "context", "<he/she/they> veggies", "<his/her/their> veggies", "case",
        "subject pronoun used as a possessive ('they veggies')"),
    Fix("qa11-poss-body", "qa", "11", "context", "<he/she/they> body", "<his/her/their> body", "case",
        "subject pronoun used as a possessive ('they body', twice)", count=2),
    Fix("qa11-obj-want", "qa", "11", "context", "made <he/she/they> want", "made <him/her/them> want", "case",
        "subject pronoun used as an object ('made they want')"),
    Fix("qa10-refl", "qa", "10", "context", "<him/her/them>self", "{person.refl}", "case",
        "object tuple + 'self' gives 'themself'; the reflexive slot gives 'themselves'"),
    # --- verbs coordinated with a subject pronoun (the first verb is converted by the agreement rule)
    Fix("qa88-coordinated-1", "qa", "88", "context", "scrapes the food off of them, and throws away",
        "{person:scrapes} the food off of them, and {person:throws} away", "agreement",
        "verbs coordinated with 'they' agree too ('they takes …, scrapes …, and throws')"),
    Fix("qa88-coordinated-2", "qa", "88", "context", "and empties them", "and {person:empties} them", "agreement",
        "coordinated verb ('they takes the cups …, and empties')"),
    Fix("qa88-coordinated-3", "qa", "88", "context", "and puts back", "and {person:puts} back", "agreement",
        "coordinated verb ('they wipes …, and puts back')"),
    Fix("qa88-coordinated-4", "qa", "88", "context", "and puts the soap", "and {person:puts} the soap", "agreement",
        "coordinated verb ('they loads …, and puts the soap')"),
    Fix("qa88-coordinated-5", "qa", "88", "context", "and goes to tell", "and {person:goes} to tell", "agreement",
        "coordinated verb ('they turns on …, and goes')"),
    Fix("qa88-missing-verb", "qa", "88", "context", "<he/she/they> done with", "<he/she/they> {person:is} done with",
        "agreement", "missing verb ('that he done with the dishes' → 'that they are done')"),
    Fix("qa92-coordinated", "qa", "92", "context", "no friends and is not sure", "no friends and {person:is} not sure",
        "agreement", "coordinated verb ('they has no money … and is not sure')"),
    # --- gendered words CALM left literal where they mean the templated person
    Fix("qa9-leak-boy", "qa", "9", "context", "This boy was an only child", "This <boy/girl/kid> was an only child",
        "leak", "a literal 'boy' refers to the templated child"),
    Fix("qa13-leak-girl", "qa", "13", "context", "as a young girl", "as a young <boy/girl/kid>", "leak",
        "a literal 'girl' refers to the templated person"),
    Fix("qa13-like", "qa", "13", "context", "<PERSON> also like sweets", "<PERSON> also likes sweets", "typo",
        "'also like' → 'also likes' (a singular name)"),
    Fix("qa14-leak-she", "qa", "14", "context", "She helped measure", "<He/She/They> helped measure", "leak",
        "a literal 'She' refers to the templated person"),
    Fix("qa16-leak-him", "qa", "16", "context", "cheer him up", "cheer <him/her/them> up", "leak",
        "a literal 'him' refers to the templated person"),
    Fix("qa92-leak-herself", "qa", "92", "context", "what to do with herself", "what to do with {person.refl}",
        "leak", "a literal 'herself' refers to the templated person"),
    Fix("sentiment60-leak-they", "sentiment", "60", "sentence", "I thought they comes back",
        "I thought <he/she/they> comes back", "leak",
        "a literal 'they' refers to the templated person, with a verb that never agreed ('I thought they comes back')"),
    Fix("sentiment4-leak-they", "sentiment", "4", "sentence", "ahead of them if they so chooses",
        "ahead of <him/her/them> if <he/she/they> so chooses", "leak",
        "a literal 'them'/'they' refers to the templated person, with a verb that never agreed ('if they so chooses')"),
    # --- text typos
    Fix("sentiment4-possessive", "sentiment", "4", "sentence", "<PERSON>'s most certainly has",
        "<PERSON> most certainly has", "typo", "a stray possessive ('Alex's most certainly has a new career')"),
    Fix("qa8-word-order", "qa", "8", "context", "<his/her/their> Tim friend", "<his/her/their> friend Tim", "typo",
        "word order ('his Tim friend' → 'his friend Tim')"),
    Fix("qa21-repetition", "qa", "21", "context", "Nope nope nope.", "Nope, nope, nope.", "typo",
        "the tweet's emphatic repetition is punctuated so it is not read as a doubled word"),
    Fix("sentiment8-article", "sentiment", "8", "sentence", "an devastating", "a devastating", "typo",
        "article ('an devastating' → 'a devastating')"),
    Fix("sentiment12-article", "sentiment", "12", "sentence", "an devastating", "a devastating", "typo",
        "article ('an devastating' → 'a devastating')"),
    # --- distinct people CALM merged into one <PERSON>
    Fix("qa20-author", "qa", "20", "context", "sbaileyphotog) - <PERSON> November", "sbaileyphotog) - {person2} November",
        "person2", "the tweet's author is not the person it shows (TweetQA: 'Taylor' vs 'Taylor Swift News')"),
    Fix("sentiment68-two-people", "sentiment", "68", "sentence", "<PERSON> said that <PERSON> thought",
        "<PERSON> said that {person2} thought", "person2",
        "one person reports what another thought; one name for both reads as a contradiction"),
    # --- wrong gold answers
    Fix("qa87-answer", "qa", "87", "answer", "<PERSON>", "The other passengers", "answer",
        "MCScript's gold answer to 'Who did they board the train with?' is 'The other passengers'; "
        "CALM's template answers with the friend the narrator travels to see"),
)

#: CALM tuples mapped to a pronoun case in the corrected import; ``he/her/their`` is CALM's typo.
TUPLE_CASES: dict[str, str] = {
    "he/she/they": "subj",
    "he/her/their": "subj",  # typo in CALM's qa template 12 (six times); every use is a subject
    "him/her/them": "obj",
    "his/her/their": "poss",
    "himself/herself/themselves": "refl",
}


def fixes_for(task: str) -> list[Fix]:
    return [f for f in FIXES if f.task == task]


def changelog_lines() -> list[str]:
    """One line per fix, for the dataset card."""
    return [f"{f.task} template {f.index} ({f.field}): {f.note}" for f in FIXES]
