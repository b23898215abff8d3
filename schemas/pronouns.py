"""Pronoun sets and the grammatical facts bound to them.

A referent's pronoun set decides its pronoun cases, its verb agreement (singular
"they" takes plural verbs: "they were") and which word a gendered choice slot
picks (``{person:boy/girl/kid}`` picks by ``choice_index``).

>>> PRONOUN_SETS["they"].case("subj"), PRONOUN_SETS["they"].plural_verbs
('they', True)
"""

from __future__ import annotations

from dataclasses import dataclass

PRONOUN_CASES = ("subj", "obj", "poss", "poss_pron", "refl")


@dataclass(frozen=True)
class PronounSet:
    name: str
    subj: str
    obj: str
    poss: str
    poss_pron: str
    refl: str
    plural_verbs: bool = False
    # position in a gendered choice written male/female/neutral ("boy/girl/kid")
    choice_index: int = 2

    def case(self, case: str) -> str:
        if case not in PRONOUN_CASES:
            raise KeyError(case)
        return getattr(self, case)


PRONOUN_SETS: dict[str, PronounSet] = {
    "he": PronounSet("he", "he", "him", "his", "his", "himself", False, 0),
    "she": PronounSet("she", "she", "her", "her", "hers", "herself", False, 1),
    "they": PronounSet("they", "they", "them", "their", "theirs", "themselves", True, 2),
    "xe": PronounSet("xe", "xe", "xem", "xyr", "xyrs", "xemself", False, 2),
    "ze": PronounSet("ze", "ze", "zir", "zir", "zirs", "zirself", False, 2),
}


def register_pronoun_set(pset: PronounSet) -> None:
    """Add a set that a lexicon or spec declares; redefining a set differently is an error."""
    known = PRONOUN_SETS.get(pset.name)
    if known is not None and known != pset:
        raise ValueError(f"pronoun set {pset.name!r} is already defined differently")
    PRONOUN_SETS[pset.name] = pset
