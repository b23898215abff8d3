"""The people of one record, read off spaCy docs of its texts, with every mention of each.

A *referent* is one person; its *mentions* are the character spans that name or
refer to it in any field. Three kinds of mention, all found by explicit rules:

``name``
    a PERSON entity (or a capitalised run of proper nouns spaCy left untagged)
    whose first word is in the name gazetteer, or that a gendered title opens
    ("Mr. Carter"); the title is part of the mention. A name that is part of
    something else is not a person: after an article ("a Harley motor"), as a
    modifier of a common noun ("Harley motor"), after "St" ("St Patrick's Day").
    Later mentions by part of the name ("Carter") are the same person.
``noun``
    a determiner (or "one") and a singular person noun and nothing else: "a
    man", "the girl", "one man". A person noun with modifiers ("the old woman") is a
    person a name cannot replace without losing what the modifier says: it is
    not slotted, but a pronoun may refer to it. A later "the man" in the same
    field takes up the nearest compatible one; in a later field (the hypothesis
    after the premise) any compatible noun takes up the one person it fits.
``pronoun``
    a gendered third-person pronoun, bound to the person of its gender whose
    mention is nearest before it: inside its own and the previous sentence that
    person must be the only one of that gender; further back, the only one in
    the record; with no one before it, from a fronted clause ("When she came,
    Mary …"), the only one named later in its sentence. Otherwise the record is
    refused, naming the pronoun.

Everything a template would keep that could still refer to a slotted person
(an unknown PERSON, a role noun like "the doctor", a modified person noun) is an
*other* person: it is never slotted, and a pronoun that could refer to it
makes the record ambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

from transforms.people.cues import (AGE_CLASS, GENDERED_TITLES, KINSHIP_NAMES, NON_PERSON_TITLES, PERSON_NOUNS,
                                    PRONOUNS, ROLE_NOUNS, is_ambiguous_name)

_DETERMINERS = {"a", "an", "the", "this", "that"}
_PERSON_ROLES = ("nsubj", "nsubjpass", "dobj", "iobj", "poss")
# last words of names of things, not people ("Chatham Railway", "Lincoln Center")
_THING_WORDS = frozenset("""railway railroad street road avenue center centre university college school hall park
    company corporation church bridge river lake island county city airport station hotel theatre theater museum
    club league cup award prize foundation institute hospital stadium order day""".split())
_DEFINITE = {"the", "this", "that"}
_BLOCKING_DETS = {"a", "an", "the", "this", "that", "these", "those", "every", "each", "another", "no"}
_OTHER_TITLES = {"dr", "prof", "professor", "doctor", "judge", "officer", "captain", "coach", "president",
                 "senator", "rev", "reverend", "sgt", "sergeant", "gen", "general", "col", "lt", "gov", "governor",
                 "pope", "king", "queen", "prince", "princess", "uncle", "aunt"}
_GENDERED_ROLES = {
    "father": "m", "dad": "m", "son": "m", "brother": "m", "husband": "m", "boyfriend": "m", "king": "m",
    "prince": "m", "grandfather": "m", "grandpa": "m", "groom": "m", "policeman": "m", "fireman": "m",
    "businessman": "m", "waiter": "m", "actor": "m", "cowboy": "m",
    "mother": "f", "mom": "f", "daughter": "f", "sister": "f", "wife": "f", "girlfriend": "f", "queen": "f",
    "princess": "f", "grandmother": "f", "grandma": "f", "bride": "f", "policewoman": "f", "businesswoman": "f",
    "waitress": "f", "actress": "f",
}


@dataclass(frozen=True)
class Mention:
    key: str  # the text it is in (a task field, "answer", "options[i]")
    start: int  # character offsets in that text
    end: int
    kind: str  # "name", "noun" or "pronoun"
    case: str = ""  # pronouns: subj, obj, poss, poss_pron, refl
    token: int = -1  # pronouns: the token index (verb agreement reads the parse there)


@dataclass
class Referent:
    gender: str  # m, f or u (not known yet)
    label: str
    slottable: bool = True  # False: an "other" person, never slotted
    names: list[tuple[str, ...]] = field(default_factory=list)
    noun: str = ""  # generic person noun, for noun referents
    titled: bool = False  # gender from a title ("Mrs."), not a guess from the first name
    mentions: list[Mention] = field(default_factory=list)

    def covers(self, words: tuple[str, ...]) -> bool:
        return any(set(words) <= set(n) or set(n) <= set(words) for n in self.names)


@dataclass
class People:
    referents: list[Referent]  # slottable people, in order of first mention
    others: list[Referent]
    describing: list[tuple[str, Any, Referent]]  # (key, gendered noun token, the referent it describes)


class Refused(Exception):
    """The record cannot be slotted safely; the message says why, naming the words."""


def _pos(order: dict[str, int], key: str, char: int) -> tuple[int, int]:
    return order[key], char


def _compatible(g1: str, g2: str) -> bool:
    return g1 == "u" or g2 == "u" or g1 == g2


def _title_case(word: str) -> bool:
    return word[:1].isupper() and word[1:] == word[1:].lower() and word.replace("-", "").replace("'", "").isalpha()


def _norm(word: str) -> str:
    return word.rstrip(".")


def _is_name_word(word: str) -> bool:
    return word[:1].isupper() and word.replace("-", "").replace("'", "").replace(".", "").isalpha()


def _part_of_something_else(first, last) -> str:
    """Why a capitalised span is not a person here, or "" (first/last: its first and last tokens)."""
    doc = first.doc
    prev = doc[first.i - 1] if first.i > 0 else None
    if prev is not None and prev.lower_ in _BLOCKING_DETS and (prev.tag_ in ("DT", "PDT") or prev.lower_ in ("a", "an", "the")):
        return f"after {prev.text!r}"
    if prev is not None and prev.pos_ == "PROPN" and _is_name_word(prev.text.lstrip("-#@")) and prev.whitespace_ \
            and prev.text.rstrip(".").lower() not in GENDERED_TITLES.keys() | _OTHER_TITLES:
        return f"part of a longer name after {prev.text!r}"  # "Ip Man", "Lincoln Parish"
    if prev is not None and prev.whitespace_ == "" and prev.text[:1].isalpha():
        return f"joined to {prev.text!r}"  # "-Emma Stone", "#DoloresORiordan"
    if first.i > 0 and doc[first.i - 1].text.rstrip(".").lower() in NON_PERSON_TITLES:
        return f"after {doc[first.i - 1].text!r}"
    nxt = doc[last.i + 1] if last.i + 1 < len(doc) else None
    if nxt is not None and nxt.tag_ == "NN" and nxt.is_alpha and not nxt.text[:1].isupper() \
            and not doc.text.islower():  # (a lower-case text's tags are unreliable)
        return f"modifies {nxt.text!r}"  # "a Harley motor", "Bush administration"
    if nxt is not None and last.whitespace_ and nxt.pos_ == "PROPN" and _is_name_word(nxt.text) \
            and not nxt.text.isupper() and not nxt.is_sent_start:
        return f"part of a longer name before {nxt.text!r}"  # "Tiger IIs", "Lincoln Center"
    if nxt is not None and (nxt.lower_ == "of" or nxt.like_num or re.fullmatch(r"[IVX]+s?", nxt.text)):
        return f"before {nxt.text!r}"  # "Order of Lenin", "Tiger II", "Ip Man 2"
    if nxt is not None and nxt.lower_ == "the" and last.i + 2 < len(doc):
        noun = doc[last.i + 2]
        if noun.tag_ == "NN" and noun.lower_ not in PERSON_NOUNS and noun.lower_ not in ROLE_NOUNS:
            return f"named as {nxt.text} {noun.text}"  # "Donna the elephant"
    return ""


def _name_spans(doc) -> list[tuple[int, int, str, str]]:
    """(first token, end token, title gender or "", source) of candidate name mentions in a doc."""
    spans = []
    ents = doc.ents  # built anew on every read
    for ent in ents:
        if ent.label_ == "PERSON" or (ent.label_ in ("GPE", "ORG", "NORP", "LOC") and len(ent) == 1
                                      and ent[0].pos_ == "PROPN" and ent[0].dep_ in _PERSON_ROLES):
            # the small model files some first names as places ("Bethany grabbed"): in a person's
            # place in the clause they are tried as names (the gazetteer decides)
            spans.append((ent.start, ent.end, "ent" if ent.label_ == "PERSON" else "ent?"))
    ent_tokens = {t.i for e in ents for t in e}
    i = 0
    while i < len(doc):
        tok = doc[i]
        if i in ent_tokens or tok.pos_ != "PROPN" or not _title_case(tok.text):
            i += 1
            continue
        j = i
        while j < len(doc) and j not in ent_tokens and doc[j].pos_ == "PROPN" and _title_case(doc[j].text):
            j += 1
        spans.append((i, j, "propn"))
        i = j
    out = []
    for start, end, src in spans:
        # a gendered title just before the entity belongs to the mention
        title = ""
        while start < end and doc[start].text.rstrip(".").lower() in GENDERED_TITLES.keys() | _OTHER_TITLES:
            if doc[start].text.rstrip(".").lower() in GENDERED_TITLES:
                title = GENDERED_TITLES[doc[start].text.rstrip(".").lower()]
            start += 1
        if start > 0 and doc[start - 1].text.rstrip(".").lower() in GENDERED_TITLES and not title:
            title = GENDERED_TITLES[doc[start - 1].text.rstrip(".").lower()]
        while end > start and (doc[end - 1].tag_ == "POS" or doc[end - 1].is_punct
                               or (doc[end - 1].text.isupper() and len(doc[end - 1]) > 1 and end - 1 > start)):
            end -= 1  # "Mary's", "Timothy O'Hea VC"
        while start >= 2 and doc[start - 1].text == "-" and not doc[start - 2].whitespace_ and \
                not doc[start - 1].whitespace_ and _title_case(doc[start - 2].text):
            start -= 2  # "Karim-Mohamed Maamoun", split by the tokenizer
        if any(t.text.rstrip(".").lower() in NON_PERSON_TITLES for t in doc[start:end]):
            continue  # "St Patrick's Day", "Fort Worth"
        if end > start and all(_is_name_word(t.text) or t.text == "-" for t in doc[start:end]) \
                and doc[end - 1].lower_ not in _THING_WORDS:
            out.append((start, end, title, src))
    return out


def find_people(items: Sequence[tuple[str, Any]], gazetteer: dict[str, str]) -> People:
    """The people of a record: ``items`` are ``(key, doc)`` in reading order. Raises :class:`Refused`."""
    order = {key: n for n, (key, _) in enumerate(items)}
    referents: list[Referent] = []
    others: list[Referent] = []
    taken: dict[str, set[int]] = {key: set() for key, _ in items}  # tokens already part of a mention

    def add_mention(ref: Referent, key: str, doc, start: int, end: int, kind: str, case: str = "", tok: int = -1):
        span = doc[start:end]
        ref.mentions.append(Mention(key, span.start_char, span.end_char, kind, case, tok))
        taken[key].update(range(start, end))

    # --- names: known ones first (gazetteer or title), then unknown ones join a person they are part of
    pending: list[tuple[str, Any, int, int, tuple[str, ...], str, bool]] = []  # ..., gender or "?", titled
    for key, doc in items:
        for start, end, title, src in _name_spans(doc):
            title_start = start
            while title_start > 0 and doc[title_start - 1].text.rstrip(".").lower() in GENDERED_TITLES:
                title_start -= 1
            words = tuple(t.text for t in doc[start:end] if _is_name_word(t.text))
            if not words:
                continue
            if _part_of_something_else(doc[title_start], doc[end - 1]):
                continue
            first = next((w for w in words if len(w.rstrip(".")) > 1), words[0])  # "D. Ross Lederman": Ross
            core = getattr(gazetteer, "core", gazetteer)
            known = title or (first in gazetteer and src == "ent") or \
                (first in core and src != "ent" and not is_ambiguous_name(first))
            if src == "ent?" and not known:
                continue  # a place or an organisation after all ("Bangladesh suffered")
            if src == "propn" and not known:
                head = doc[end - 1]
                kin = KINSHIP_NAMES.get(first.lower())
                if kin or head.dep_ in _PERSON_ROLES or \
                        (head.dep_ == "pobj" and head.head.lower_ == "by"):
                    # an untagged capitalised word no gazetteer vouches for, in a person's place in the
                    # clause ("Lynch asked", "Dad said", "Jack volunteers"): a known person's name again,
                    # else maybe a person, never slotted (below)
                    pending.append((key, doc, title_start, end, words, "?", False))
                continue
            gender = title or gazetteer.get(first, "u")
            pending.append((key, doc, title_start, end, words, gender if known else "?", bool(title)))
    for key, doc, start, end, words, gender, titled in [p for p in pending if p[5] != "?"] + \
            [p for p in pending if p[5] == "?"]:
        words = tuple(_norm(w) for w in words)
        matches = [r for r in referents + others if r.names and r.covers(words)]
        if len(matches) > 1:
            raise Refused(f"{' '.join(words)!r} could be {' or '.join(r.label for r in matches)}")
        if matches:
            ref = matches[0]
            if titled and not _compatible(ref.gender, gender):
                if ref.titled:
                    raise Refused(f"{' '.join(words)!r} and {ref.label!r} are named with different genders")
                ref.gender, ref.titled = gender, True  # "Mr. Libby" overrides what "Libby" suggested
            if words not in ref.names:
                ref.names.append(words)
        elif gender == "?":
            ref = Referent(KINSHIP_NAMES.get(words[0].lower(), "u"), " ".join(words), slottable=False, names=[words])
            others.append(ref)
        else:
            ref = Referent(gender, " ".join(words), names=[words], titled=titled)
            referents.append(ref)
        if ref.slottable:
            add_mention(ref, key, doc, start, end, "name")
        else:
            ref.mentions.append(Mention(key, doc[start].idx, doc[end - 1].idx + len(doc[end - 1]), "name"))
            taken[key].update(range(start, end))
    # a name word two people share ("Hariri") names neither of them when it stands alone
    people = referents + others
    shared: set[str] = set()
    for i, p in enumerate(people):
        for q in people[i + 1:]:
            shared |= {_norm(w) for n in p.names for w in n} & {_norm(w) for n in q.names for w in n}
    # later mentions by a name or a name word spaCy did not tag ("Mary" alone in an answer; TweetQA's
    # questions are written in lower case)
    # each text's words as the forms are compared with them, read off the doc once (not once a referent)
    lowers = {key: doc.text.islower() for key, doc in items}
    words_of = {key: [t.lower_.rstrip(".") if lowers[key] else _norm(t.text) for t in doc] for key, doc in items}
    for ref in referents:
        forms = {tuple(_norm(w) for w in n) for n in ref.names} | \
            {(_norm(w),) for n in ref.names for w in n if _norm(w) not in shared and len(w.rstrip(".")) > 1}
        forms = sorted(forms, key=len, reverse=True)
        for key, doc in items:
            lower, words = lowers[key], words_of[key]
            wants = [tuple(w.lower() for w in form) if lower else form for form in forms]
            firsts = {want[0] for want in wants}
            for i in range(len(doc)):
                if i in taken[key] or words[i] not in firsts:
                    continue
                for form, want in zip(forms, wants):
                    end = i + len(form)
                    if end <= len(doc) and tuple(words[i:end]) == want and \
                            not any(k in taken[key] for k in range(i, end)) and \
                            not _part_of_something_else(doc[i], doc[end - 1]):
                        start = i
                        if i > 0 and doc[i - 1].text.rstrip(".").lower() in GENDERED_TITLES:
                            start = i - 1
                        if lower:  # "everett edwards": a lower-case name word beside another may be more of a name
                            for j in (i - 1, end):
                                if 0 <= j < len(doc) and j not in taken[key] and doc[j].text.capitalize() in gazetteer:
                                    raise Refused(f"{doc[min(i, j):max(end, j + 1)].text!r} in {key} may be "
                                                  f"{ref.label!r} or someone else")
                        add_mention(ref, key, doc, start, end, "name")
                        break
    for key, doc in items:
        for tok in doc:
            if tok.i not in taken[key] and _norm(tok.text) in shared and _is_name_word(tok.text):
                holders = [p.label for p in people if any(_norm(tok.text) in map(_norm, n) for n in p.names)]
                raise Refused(f"{tok.text!r} alone could be {' or '.join(holders)}")
    name_refs = list(referents)

    # --- generic person nouns
    describing: list[tuple[str, Any, Referent]] = []
    noun_refs: list[tuple[Referent, str]] = []  # people met as a person noun (slotted or not), first key
    for key, doc in items:
        for tok in doc:
            low = tok.lower_
            if tok.i in taken[key] or tok.ent_type_ in ("PERSON", "ORG", "GPE", "NORP", "FAC", "WORK_OF_ART"):
                continue
            if tok.tag_ != "NN" or tok.dep_ == "compound" or (low not in PERSON_NOUNS and low not in ROLE_NOUNS):
                continue
            if tok.dep_ == "pobj" and tok.head.lower_ in ("like", "as", "than"):
                continue  # a comparison ("cried like a baby"), not a person
            gender = PERSON_NOUNS.get(low) or _GENDERED_ROLES.get(low, "u")
            described = _described_name(tok, name_refs, key)
            if described is not None:
                describing.append((key, tok, described))
                continue
            left = [c for c in tok.children if c.i < tok.i]
            plain = low in PERSON_NOUNS and len(left) == 1 and left[0].i == tok.i - 1 and (
                (left[0].dep_ == "det" and left[0].lower_ in _DETERMINERS)
                or (left[0].dep_ == "nummod" and left[0].lower_ == "one"))  # "one man" in a caption
            first = left[0].i if left else tok.i
            what = doc[first:tok.i + 1].text
            here = Mention(key, doc[first].idx, tok.idx + len(tok.text), "noun")
            if low in PERSON_NOUNS:
                # a person noun may take up one met before: "the man" after "a man" in the same text,
                # any fitting person noun in a later text (the hypothesis after the premise)
                definite = bool(left) and left[0].lower_ in _DEFINITE
                fits = [(r, k) for r, k in noun_refs if _compatible(r.gender, gender) and _same_age(r.noun, low)]
                same_field = [(r, k) for r, k in fits if any(m.key == key for m in r.mentions)]
                pool = same_field if (same_field and definite) else \
                    [(r, k) for r, k in fits if order[k] < order[key]]
                if len(pool) > 1:
                    same_noun = [(r, k) for r, k in pool if r.noun == low]
                    pool = same_noun if len(same_noun) == 1 else pool
                if len(pool) > 1:
                    raise Refused(f"{what!r} could be {' or '.join(r.label for r, _ in pool)}")
                if pool:
                    ref = pool[0][0]
                    if ref.slottable and not plain:
                        raise Refused(f"{what!r} is {ref.label!r} again, with words a name would drop")
                    if ref.gender == "u":
                        ref.gender = gender
                    if ref.slottable:
                        add_mention(ref, key, doc, first, tok.i + 1, "noun")
                    else:
                        ref.mentions.append(here)
                        taken[key].update(range(first, tok.i + 1))
                    continue
            if not plain:
                other = Referent(gender, what, slottable=False, noun=low, mentions=[here])
                others.append(other)
                if low in PERSON_NOUNS:
                    noun_refs.append((other, key))
                continue
            for r in name_refs:
                if _compatible(r.gender, gender) and gender != "u" or low in ("person", "individual"):
                    raise Refused(f"{what!r} may be {r.label!r}")
            ref = Referent(gender, what, noun=low)
            add_mention(ref, key, doc, first, tok.i + 1, "noun")
            referents.append(ref)
            noun_refs.append((ref, key))
    # a person noun in a later text (a hypothesis, a question) that fits someone slotted earlier may be them
    for other in others:
        if not other.noun or not other.mentions:
            continue
        m = other.mentions[0]
        if m.key.startswith(("answer", "options[")) or any(
                o.noun == other.noun and order[o.mentions[0].key] < order[m.key] for o in others if o.mentions):
            continue
        for ref in referents:
            if order[ref.mentions[0].key] < order[m.key] and _compatible(ref.gender, other.gender) \
                    and _same_age(ref.noun, other.noun):
                raise Refused(f"{other.label!r} in {m.key} may be {ref.label!r}")

    # --- pronouns
    everyone = referents + others
    for key, doc in items:
        for tok in doc:
            if tok.lower_ not in PRONOUNS or tok.tag_ not in ("PRP", "PRP$"):
                continue
            prev = doc[tok.i - 1] if tok.i else None
            if tok.text[:1].isupper() and prev is not None and (prev.is_alpha or prev.text == ","):
                raise Refused(f"{tok.text!r} is capitalised inside a sentence: part of a title")
            gender = PRONOUNS[tok.lower_][0]
            here = _pos(order, key, tok.idx)
            sent = tok.sent
            prev_start = doc[sent.start - 1].sent.start_char if sent.start > 0 else sent.start_char
            window_start = _pos(order, key, prev_start)

            def before(r, lo=None):
                return any((lo is None or _pos(order, m.key, m.start) >= lo) and _pos(order, m.key, m.start) < here
                           for m in r.mentions)

            fits = [r for r in everyone if _compatible(r.gender, gender)]
            near = [r for r in fits if before(r, window_start)]
            pool = near or [r for r in fits if before(r)]
            if not pool:
                # "When she arrived, Mary …": with no one before it, the one person of its gender
                # named later in its own sentence
                # (only from a clause before the one naming them: "He met Tyson" is not about Tyson)
                clause_end = _fronted_clause_end(tok)
                pool = [r for r in fits if any(m.key == key and clause_end <= m.start < sent.end_char
                                               for m in r.mentions)] if clause_end is not None else []
            if len(pool) != 1:
                if not pool:
                    raise Refused(f"{tok.text!r} refers to no one of its gender mentioned before it")
                raise Refused(f"{tok.text!r} could be {' or '.join(r.label for r in pool)}")
            ref = pool[0]
            if ref.gender == "u":
                ref.gender = gender
            if ref.slottable:
                add_mention(ref, key, doc, tok.i, tok.i + 1, "pronoun", pronoun_case(tok), tok.i)
            else:
                ref.mentions.append(Mention(key, tok.idx, tok.idx + len(tok.text), "pronoun"))
    texts = {key: doc.text for key, doc in items}
    for ref in referents:
        ref.mentions.sort(key=lambda m: _pos(order, m.key, m.start))
        merged: list[Mention] = []
        for m in ref.mentions:  # "Karim-Mohamed Maamoun" found in pieces is one mention
            last = merged[-1] if merged else None
            if last is not None and last.key == m.key and last.kind == m.kind == "name" \
                    and texts[m.key][last.end:m.start] in ("-", " "):
                merged[-1] = replace(last, end=m.end)
            else:
                merged.append(m)
        ref.mentions = merged
    return People(referents, others, describing)


def _fronted_clause_end(pron) -> int | None:
    """Where the adverbial or fronted clause holding ``pron`` ends ("Due to her views, …", "When she
    came, …", "… he met her, Yunus recalled"), or None when the pronoun is in the main clause."""
    tok = pron
    while tok.head.i != tok.i:
        if tok.dep_ in ("advcl", "prep", "ccomp", "pcomp", "npadvmod") and tok.head.i > tok.right_edge.i:
            return tok.right_edge.idx + len(tok.right_edge.text)
        tok = tok.head
    return None


def _same_age(noun_a: str, noun_b: str) -> bool:
    a, b = AGE_CLASS.get(noun_a), AGE_CLASS.get(noun_b)
    return a is None or b is None or a == b


def _described_name(noun, name_refs: list[Referent], key: str) -> Referent | None:
    """The named person a person noun describes ("a girl named Sarah", "Sarah, a nurse", "Tom is a boy")."""

    def ref_at(tok) -> Referent | None:
        for r in name_refs:
            for m in r.mentions:
                if m.key == key and m.kind == "name" and m.start <= tok.idx < m.end:
                    return r
        return None

    if noun.dep_ == "attr":
        for c in noun.head.children:
            if c.dep_.startswith("nsubj") and ref_at(c):
                return ref_at(c)
    if noun.dep_ == "appos" and ref_at(noun.head):
        return ref_at(noun.head)
    for child in noun.children:
        if child.dep_ == "appos" and ref_at(child):
            return ref_at(child)
        if child.dep_ in ("acl", "relcl") and child.lemma_ in ("name", "call"):
            for t in child.subtree:
                if ref_at(t):
                    return ref_at(t)
    return None


def pronoun_case(tok) -> str:
    low = tok.lower_
    if low == "her":
        return "poss" if tok.tag_ == "PRP$" or tok.dep_ == "poss" else "obj"
    if low == "his":
        # "his" before a noun is a determiner; standing alone ("the book is his") it is a pronoun
        return "poss" if tok.dep_ == "poss" else "poss_pron"
    return PRONOUNS[low][1]
