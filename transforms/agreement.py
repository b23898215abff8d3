"""Which verbs agree with a subject pronoun, found by the parser: any verb, no word list.

A verb governed by a third-person singular subject pronoun ("she listens",
"she always tries", "does she know", "she takes the cups and empties them")
becomes an agreement slot (``{person:listens}``), which the renderer
conjugates for the filler's pronoun set ("they listen", "they try", "do they
know", "they … empty them"): a general rule plus irregulars
(``schemas.grammar.agree_verb``).

A verb is recognised by its part of speech and morphology (Penn tag ``VBZ``:
present, third person singular; "was"/"wasn't", the one past form that
agrees) and by its relation to the pronoun in the dependency parse (the
pronoun's head, or the next verb after adverbs, a question's inverted
auxiliary, verbs conjoined with it). Used by extraction (on source text) and
by the CALM-syntax importer (on templates, via ``agree_in_template``).

spaCy is never imported here: callers pass a loaded pipeline
(``transforms.extract.load_nlp``).
"""

from __future__ import annotations

import re
from typing import Any, Sequence

_AGREEING_PAST = {"was", "wasn't"}
_NOUN_DEPENDENTS = ("det", "amod", "nummod", "poss", "compound", "predet")


def agrees_3sg(tok) -> bool:
    """A verb form that changes with a plural subject: present 3rd-person singular, or "was"."""
    return tok.tag_ == "VBZ" or tok.lower_ in _AGREEING_PAST


def subject_verbs(pron) -> list:
    """Verbs whose form agrees with the subject pronoun ``pron`` ("she was", "does she", "she sings and dances")."""
    if not pron.dep_.startswith("nsubj"):
        return []
    head = pron.head
    found = []
    doc = pron.doc
    # after the subject, skipping adverbs ("she often goes", "she never was")
    j = pron.i + 1
    while j < len(doc) and doc[j].tag_ in ("RB",) and doc[j].lower_ not in ("n't", "not"):
        j += 1
    # (spaCy makes a new Token object on each access: compare positions, never identity)
    if j < len(doc) and agrees_3sg(doc[j]) and head.i in (doc[j].i, doc[j].head.i):
        found.append(doc[j])
    # before the subject: questions and inversions ("does she", "is she")
    if pron.i > 0:
        prev = doc[pron.i - 1]
        if agrees_3sg(prev) and head.i in (prev.i, prev.head.i) and not found:
            found.append(prev)
    # conjoined verbs sharing the subject ("she sings and dances", "she waters them and has picked")
    if head.pos_ in ("VERB", "AUX") or head.tag_.startswith("VB"):
        for conj in head.conjuncts:
            if conj.i < head.i or any(c.dep_.startswith("nsubj") for c in conj.children):
                continue
            auxes = [c for c in conj.children if c.dep_ in ("aux", "auxpass") and c.i < conj.i]
            if auxes:
                found.extend(a for a in auxes[:1] if agrees_3sg(a))
            elif agrees_3sg(conj) or (conj.tag_ == "NNS" and conj.lower_.endswith("s")
                                      and not any(c.dep_ in _NOUN_DEPENDENTS for c in conj.children)):
                # the small model sometimes tags a conjoined -s verb as a plural noun ("and dances"),
                # but a real noun has a determiner or modifier ("and any other dishes")
                found.append(conj)
        # the small parser often hangs "… and works from home" on a noun: take a subject-less
        # 3rd-person verb right after a conjunction in the same sentence
        sent_end = head.sent.end
        # only inside the clause the pronoun's verb heads ("… she met on Craigslist is drowning … and
        # is so broke": that "is" belongs to the sentence's own subject)
        for tok in doc[head.i + 1:min(sent_end, head.right_edge.i + 1)]:
            if tok.dep_.startswith("nsubj") or tok.dep_ in ("mark", "relcl", "ccomp", "advcl"):
                break  # a new clause with its own subject
            if tok.dep_ == "conj" and tok.tag_ == "VBZ" and not any(c.dep_.startswith("nsubj") for c in tok.children):
                k = tok.i - 1
                while k > head.i and doc[k].tag_ == "RB":
                    k -= 1
                if doc[k].tag_ == "CC" and all(f.i != tok.i for f in found):
                    found.append(tok)
    return found


def verb_slot_text(tok, ref: str) -> str:
    """The agreement slot for a verb token (written in its he/she form)."""
    low = tok.lower_
    if low in ("'s", "’s"):
        nxt = tok.nbor(1) if tok.i + 1 < len(tok.doc) else None
        is_have = tok.lemma_ == "have" or (nxt is not None and nxt.lower_ in ("been", "got", "had"))
        # "she's been" -> "they have been": spelt out, since "'s" can't tell "is" from "has"
        return f" {{{ref}:has}}" if is_have else f"{{{ref}:'s}}"
    return f"{{{ref}:{low}}}"


# ------------------------------------------------------------------------ templates in canonical syntax

# How a slot reads in the probe sentence the parser sees: a singular "she" referent named "Alex"
_PROBE_PRONOUNS = {"subj": "she", "obj": "her", "poss": "her", "poss_pron": "hers", "refl": "herself"}
_PROBE_NAMES = ("Alex", "Sam", "Robin", "Kim")
_SLOT = re.compile(r"\{\{|\}\}|\{[^{}]*\}")
_SLOT_BODY = re.compile(r"^=?(?:a:(?P<article>[a-z][a-z0-9_]*)"
                        r"|(?P<ref>[a-z][a-z0-9_]*)(?:\.(?P<attr>[a-z_][a-z0-9_]*)|:(?P<word>[^{}]+))?)$")


def _probe(text: str) -> tuple[str, list[int | None], list[tuple[int, int, str]]]:
    """The template as a plain sentence, the source offset of each of its characters (None inside
    a slot), and where each subject-pronoun slot sits in it (start, end, referent)."""
    out: list[str] = []
    where: list[int | None] = []
    subjects: list[tuple[int, int, str]] = []
    refs: list[str] = []
    pos = 0
    for m in _SLOT.finditer(text):
        for k in range(pos, m.start()):
            out.append(text[k])
            where.append(k)
        pos = m.end()
        token = m.group(0)
        if token in ("{{", "}}"):
            out.append(token[0])
            where.append(m.start())
            continue
        body = _SLOT_BODY.match(token[1:-1].strip())
        ref = (body and (body["article"] or body["ref"])) or "person"
        if ref not in refs:
            refs.append(ref)
        name = _PROBE_NAMES[refs.index(ref) % len(_PROBE_NAMES)]
        if body is None:
            surface = name
        elif body["article"]:
            surface = f"a friend named {name}"
        elif body["attr"] in _PROBE_PRONOUNS:
            surface = _PROBE_PRONOUNS[body["attr"]]
        elif body["attr"]:
            surface = "people" if body["attr"] == "plural" else name
        elif body["word"]:
            words = body["word"].split("/")
            surface = words[1] if len(words) == 3 else words[0]  # the female word of a choice; a verb as written
        else:
            surface = name
        start = len(out)
        # sentence-initial capitals do not change the parse much, but keep them where the text has them
        if start == 0 or "".join(out[-3:]).rstrip().endswith((".", "!", "?")):
            surface = surface[:1].upper() + surface[1:]
        out.extend(surface)
        where.extend([None] * len(surface))
        if body is not None and body["attr"] == "subj":
            subjects.append((start, len(out), body["ref"]))
    for k in range(pos, len(text)):
        out.append(text[k])
        where.append(k)
    return "".join(out), where, subjects


def agree_in_templates(texts: Sequence[str], nlp: Any) -> list[str]:
    """Each canonical template text with every literal verb its subject-pronoun slots govern turned into an
    agreement slot ("{person.subj} listens" → "{person.subj} {person:listens}"), one ``nlp.pipe`` for all.

    Verbs already written as slots, and verbs governed by anything else (a name, a literal "they"),
    are left as they are.
    """
    probes = [_probe(t) for t in texts]
    out = list(texts)
    with_pronoun_subjects = [i for i, (_, _, subjects) in enumerate(probes) if subjects]
    for i, doc in zip(with_pronoun_subjects, nlp.pipe([probes[i][0] for i in with_pronoun_subjects])):
        text = texts[i]
        _, where, subjects = probes[i]
        edits: list[tuple[int, int, str]] = []
        for start, end, ref in subjects:
            span = doc.char_span(start, end)
            if span is None or len(span) != 1:
                continue
            for verb in subject_verbs(span[0]):
                a, b = verb.idx, verb.idx + len(verb.text)
                nxt = verb.nbor(1) if verb.i + 1 < len(doc) else None
                if nxt is not None and not verb.whitespace_ and nxt.lower_ in ("n't", "n’t"):
                    b = nxt.idx + len(nxt.text)  # "wasn't" is one slot: "{person:wasn't}"
                src = where[a:b]
                if None in src or src[-1] - src[0] != b - a - 1:
                    continue  # part of a slot, or spans an escaped brace
                slot = verb_slot_text(verb, ref) if b == verb.idx + len(verb.text) else \
                    "{" + ref + ":" + doc.text[a:b].lower() + "}"
                edit = (src[0], src[-1] + 1, slot)
                if edit not in edits:
                    edits.append(edit)
        for a, b, slot in sorted(edits, reverse=True):
            if slot.startswith(" "):  # "'s" → " {ref:has}": no space is doubled
                slot = slot if a == 0 or not text[a - 1].isspace() else slot[1:]
            text = text[:a] + slot + text[b:]
        out[i] = text
    return out
