"""Probe sentences of the two-person QA design (``design.strategy: four_way``, BBQ): one per filler class.

A four-way template's rows show its fields rendered for a pair of people (``transforms.four_way``):
the ambiguous ``context`` (in all four rows of the pair), the ``context_disambiguated`` added in
the two disambiguated rows, the negative ``question`` and the ``question_non_negative`` (two rows
each), the two answers among the ``options`` (all four), and the "unknown" phrasing drawn for the
pair. The probes are the *sentences* of those fields: a sentence is rendered once per class of the
values that fill the slots it holds (``value_class``), so a sentence without slots is parsed once
per template, and the classes of a slot in another sentence do not multiply its probes. A value's
class is what the grammar of its sentence depends on:

- the article its first word takes by sound ("a"/"an"), where an article is written before it;
- whether it starts in lower case, where it starts a sentence and the template does not capitalise it;
- an "a"/"an" inside it that the reading, or BBQ's article rule, gets wrong ("a one percenter");
- a doubled word inside it, or its first (last) word equal to the word the template writes just
  before (after) its slot: "The on {{NAME2}}" with "on welfare";
- no value at all (the slot stays as written: a leftover marker).

A lexical-diversity word (``{{WORD1}}``/``{{WORD2}}``) is a class of its own: a template's short
list of alternatives, often verbs. A proper name's gender and ethnicity are no part of its class:
four-way templates have no pronoun or verb slots (the renderer refuses them), so a name changes
nothing but its own spelling. Under BBQ's own article rule (``articles: bbq_v1``: when any filler
of the pair starts with a vowel letter, every "a" before a vowel letter becomes "an") whether the
rule fires for the pair is part of every sentence's class too.

Each group's first pair is rendered with the config's own renderer, so a probe is a sentence of
its rows' text, and a defect found in it is counted against every row of the group that shows the
field. The "unknown" phrasings are probes of their own, counted against the rows that offer them.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

from schemas.articles import indefinite_article
from schemas.sentences import sentence_starts
from transforms.four_way import PairRenderer, option_draw
from transforms.grammar_probes import Probe, article_mismatches

#: rows of a pair that show each field of the template (of its four: two context conditions × two questions)
ROWS_SHOWING = {"context": 4, "context_disambiguated": 2, "question": 2, "question_non_negative": 2,
                "options[0]": 4, "options[1]": 4}
UNKNOWN_FIELD = "options[unknown]"
START = "^"  # in a slot's "before" words: the slot starts a sentence and is not capitalised
CUT = "\x00"  # between the sentences of a rendered field: no template or filler holds it
_FIRST_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’]*")
_ARTICLE_PAIR = re.compile(r"(?:^|(?<=\s))([Aa]n?)\s+([A-Za-z0-9][^\s]*)")
_EDGE = re.compile(r"^[^\w]+|[^\w]+$")
_FEATURE = {"": "", "gen": "gen", "occ": "gen"}  # {person.occ} is filled by the same word as {person.gen}


def _word(token: str) -> str:
    """A token as the doubled-word check compares it: lower case, no punctuation at its edges."""
    return _EDGE.sub("", token).lower()


def sentences(pieces: list) -> list[list]:
    """A field's compiled pieces (``PairRenderer``) cut into sentences, at the sentence starts of its
    literal text (``schemas.sentences``: an abbreviation's full stop ends none). The whitespace between
    two sentences starts the second, so ``CUT`` put between them leaves what precedes a word unchanged
    for the renderer's text rules (BBQ's a → an reads " A" after "this. ")."""
    out: list[list] = [[]]
    for i, piece in enumerate(pieces):
        if not isinstance(piece, str):
            out[-1].append(piece)
            continue
        cut = 0
        slot_next = i + 1 < len(pieces) and not isinstance(pieces[i + 1], str)
        for begin, _ in sentence_starts(piece + ("X" if slot_next else "")):  # X: the slot's first letter
            end = len(piece[:begin].rstrip())
            if end > 0:  # (a literal's own start is the field's start, or follows a slot)
                out[-1].append(piece[cut:end])
                out.append([])
                cut = end
        out[-1].append(piece[cut:])
    return out


def slot_neighbours(pieces: list) -> dict[tuple[str, str], tuple[frozenset[str], frozenset[str]]]:
    """Per slot (referent, "" or "gen") of one sentence: the words written right before and right after it
    ("a" and "an" for an article slot; ``START`` where it starts the sentence in lower case)."""
    found: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    for i, piece in enumerate(pieces):
        if isinstance(piece, str):
            continue
        ref, feature, kind, capitalise = piece[0], _FEATURE[piece[1]], piece[2], piece[3]
        before, after = found.setdefault((ref, feature), (set(), set()))
        previous = "".join(p for p in pieces[:i] if isinstance(p, str)) if all(
            isinstance(p, str) for p in pieces[:i]) else None
        if kind == "article":
            before.update(("a", "an"))
        elif previous is not None and not previous.strip(" \"'“‘([") and not capitalise:
            before.add(START)
        elif i > 0 and isinstance(pieces[i - 1], str) and pieces[i - 1].split():
            before.add(_word(pieces[i - 1].split()[-1]))
        if i + 1 < len(pieces) and isinstance(pieces[i + 1], str) and pieces[i + 1].split():
            after.add(_word(pieces[i + 1].split()[0]))
    return {key: (frozenset(b), frozenset(a)) for key, (b, a) in found.items()}


def value_class(value: str | None, before: frozenset[str] = frozenset(), after: frozenset[str] = frozenset(), *,
                bbq_v1: bool = False, overrides: Mapping[str, str] | None = None, article_of=None) -> str:
    """The facts about a slot's value the grammar of its sentence depends on, as a label ("an", "a/lower/on=").

    ``before``/``after``: the words the sentence writes next to the slot (``slot_neighbours``);
    ``bbq_v1``: BBQ's article rule, which rewrites an "a" inside the value before a vowel letter.
    """
    if value is None:
        return "none"
    article_of = article_of or (lambda word: indefinite_article(word, overrides))
    first = _FIRST_WORD.search(value)
    after_article = bool(before & {"a", "an"})
    parts = [(article_of(first.group(0)) if first else "a") if after_article else "*"]
    if bbq_v1 and after_article and value[:1].lower() in "aeiou":  # BBQ's rule reads the letter, not the sound
        parts.append("vowel")
    if START in before and value[:1].islower():
        parts.append("lower")
    parts += article_mismatches(value, overrides, article_of)
    if bbq_v1:
        parts += [f"{m.group(1)} {m.group(2)}" for m in _ARTICLE_PAIR.finditer(value)
                  if m.group(1) in ("a", "A") and m.group(2)[:1].lower() in "aeiou"]
    words = [_word(w) for w in value.split()]
    if any(a and a == b for a, b in zip(words, words[1:])):
        parts.append("doubled")
    if words and words[0] in before:
        parts.append(f"{words[0]}=")
    if words and words[-1] in after:
        parts.append(f"={words[-1]}")
    return "/".join(dict.fromkeys(parts))


class _Sentence:
    """One sentence of a template field: where it is, its pieces, its slots and their neighbours."""

    def __init__(self, field: str, pieces_of_field: list, at: int, pieces: list):
        self.field = field
        self.pieces_of_field = pieces_of_field  # the field's pieces, its sentences separated by CUT
        self.at = at
        self.pieces = pieces
        self.neighbours = slot_neighbours(pieces)
        self.slots = sorted(self.neighbours)
        self.labels: dict[tuple, str] = {}  # (slot, value) -> its class label


_SLOT_INDEX = {("person", ""): 0, ("person", "gen"): 1, ("person2", ""): 2, ("person2", "gen"): 3,
               ("word1", ""): 4, ("word2", ""): 5}


class _TemplateProbes:
    """The sentences of one template and, per sentence, its pairs grouped by class."""

    def __init__(self, renderer: PairRenderer, memo: dict):
        self.renderer = renderer
        self.memo = memo  # value classes, shared by the templates of a build
        self.bbq_v1 = renderer.options.articles == "bbq_v1"
        self.overrides = dict(renderer.options.article_overrides)
        fields = [*renderer.parsed.items(), *((f"options[{i}]", p) for i, p in enumerate(renderer.parsed_options))]
        self.sentences = []
        for name, pieces in fields:
            if name not in ROWS_SHOWING:
                continue
            cut = sentences(pieces)
            joined = [piece for i, s in enumerate(cut) for piece in ([CUT] if i else []) + s]
            self.sentences += [_Sentence(name, joined, at, s) for at, s in enumerate(cut)
                               if any(not isinstance(p, str) or p.strip() for p in s)]

    def _label(self, sentence: _Sentence, slot: tuple[str, str], value: str | None) -> str:
        got = sentence.labels.get((slot, value))
        if got is None:
            if slot[0] in ("word1", "word2"):  # a template's own alternatives: each a class of its own
                label = "none" if value is None else f"“{value}”"
            else:
                before, after = sentence.neighbours[slot]
                key = (value, before, after, self.bbq_v1, self.renderer.options.article_overrides)
                label = self.memo.get(key)
                if label is None:
                    label = self.memo[key] = value_class(value, before, after, bbq_v1=self.bbq_v1,
                                                         overrides=self.overrides)
            ref, feature = slot
            got = sentence.labels[slot, value] = f"{ref}{'.' + feature if feature else ''}: {label}"
        return got

    def groups(self, items: Sequence) -> list[tuple[_Sentence, tuple[str, ...], object, int]]:
        """(sentence, classes, first pair, pairs) per sentence and class, in sentence order, then class order
        of first appearance. Pairs are first grouped by the values a sentence shows, then the values by class."""
        r = self.renderer
        values = [(i.person.value, i.person.gen, i.person2.value, i.person2.gen, i.word1, i.word2,
                   r.vowel_rule(i)) for i in items]
        out = []
        for sentence in self.sentences:
            shown = [_SLOT_INDEX[slot] for slot in sentence.slots] + ([6] if self.bbq_v1 else [])
            by_values: dict[tuple, list] = {}  # values shown -> [first pair, pairs]
            for item, vals in zip(items, values):
                group = by_values.setdefault(tuple(vals[i] for i in shown), [item, 0])
                group[1] += 1
            by_class: dict[tuple[str, ...], list] = {}
            for key, (item, pairs) in by_values.items():
                classes = tuple(self._label(sentence, slot, v) for slot, v in zip(sentence.slots, key))
                if self.bbq_v1:
                    classes += (f"bbq a→an: {'yes' if key[-1] else 'no'}",)
                group = by_class.setdefault(classes, [item, 0])
                group[1] += pairs
            out += [(sentence, classes, item, pairs) for classes, (item, pairs) in by_class.items()]
        return out

    def text(self, sentence: _Sentence, item) -> str:
        """The sentence as the pair's rows show it: the whole field rendered (the renderer's text rules
        read across sentences), then cut."""
        r = self.renderer
        return r.render(sentence.pieces_of_field, r.values(item), r.vowel_rule(item)).split(CUT)[sentence.at].strip()


def four_way_probes(tasks: Sequence) -> list[Probe]:
    """The probes of the four-way shard tasks of a planned release: per template, its sentences in field
    order, each in class order of first appearance; then one per "unknown" phrasing the rows draw.

    The probes of a template's first sentence carry its rows as ``group_rows`` (each pair is in exactly
    one of their groups), so the rows checked are counted once.
    """
    probes: list[Probe] = []
    unknown: dict[str, dict[str, int]] = {}  # phrasing -> config -> rows offering it
    memo: dict = {}
    for task in tasks:
        config = task.layout.name
        for block in task.blocks:
            template = block.template
            of = _TemplateProbes(PairRenderer(template, block.options), memo)
            key = template.metadata.get("category", ""), template.source_record_id
            for k, item in enumerate(block.items):
                counts = unknown.setdefault(option_draw(block.options, key, k, item)[0], {})
                counts[config] = counts.get(config, 0) + 4
            first = of.sentences[0] if of.sentences else None
            for sentence, classes, item, pairs in of.groups(block.items):
                probes.append(Probe(template.template_id, sentence.field, classes, of.text(sentence, item),
                                    {config: ROWS_SHOWING[sentence.field] * pairs},
                                    group_rows={config: 4 * pairs} if sentence is first else {}))
    for phrase, rows in unknown.items():
        probes.append(Probe("*", UNKNOWN_FIELD, (phrase,), phrase, dict(sorted(rows.items())), group_rows={}))
    return probes
