"""Boundary lint: the row lint's counts, computed from template pieces and lexicon entries instead of rows.

A rendered field is its template's pieces joined (``ParsedText.pieces``): literal
text and slot renderings, each rendering cached per lexicon entry
(``LexiconColumns.column``). Every lint rule of :mod:`schemas.lint` looks at
one whitespace token or two neighbouring ones (``leftover_slot``'s brace form
aside, see below), so a row's verdict is the OR of verdicts on short pieces of
its text, each of which is the same for very many rows:

*anchors*
    A literal with a token that cannot touch its neighbours — one with
    whitespace on both sides inside the literal (its own leading or trailing
    whitespace counts) — is an anchor. The stretch of the literal from its first such token to
    its last (its *inner* text) is the same in every row: linted once per
    template field.
*junctions*
    Between two consecutive anchors (and before the first, after the last),
    the text from the last inner token of one to the first inner token of the
    next: literal bits and the slot renderings in between. When all its slots
    belong to one referent, a junction is a function of that referent's
    lexicon entry: it is built for every entry of the group at once (one
    ``binary_join_element_wise``) and linted once per (junction, entry group) —
    shared by every template with the same junction (``"hours. {person.subj}
    {person:was} tired"``). A row's flags are then ``flags[entry of the row]``.
    Junctions mixing two referents (``{person} and {person2}``) are built
    and linted per row.

Every inner text and junction starts and ends at a token boundary of the row,
inner texts and junctions overlap by one token, so together they hold every
pair of neighbouring tokens of the row, and no pair the row lacks. They are
linted with the row lint's own kernels (``schemas.lint._rule_masks``):
tokenisation (Arrow's Unicode whitespace), punctuation stripping, case
folding, the RE2 regexes (``\\b``, ``\\s``), the article grammar and the
``article_overrides`` are the row lint's by construction, quirks included —
e.g. "they\\u00a0was" is two tokens to the token rules but not an agreement
error (RE2's ``\\s`` is ASCII whitespace), "a" followed by "European," is
judged on the token "European,", and a capital "A" used as a name is read as
an article. One Arrow quirk matters for finding token positions in literals
and is handled: ``utf8_split_whitespace`` yields empty tokens for leading and
trailing whitespace (``"a "`` → ``["a", ""]``, ``"a  "`` → ``["a", "", ""]``);
no rule can flag an empty token, so they are skipped.

``empty_field`` (``^\\s*$``) holds for a row exactly when it holds for every
piece, so it is an AND of per-entry flags. ``leftover_slot``'s brace form
(``{…}``) may span any number of tokens; it can only match where the field
has both a ``{`` and a ``}`` somewhere (a literal ``{{``, a rendering with a
brace), and only then is the whole field rendered — per entry, or per row for
two referents — and matched as the row lint does.

Cost: per distinct junction string per entry group, not per row — strings are
deduplicated before linting, and a junction shared by many templates is linted
once. Where every row has its own junction (HolisticBias: each template's
verb next to each noun phrase) the saving is the kernel work on long texts.

Counts are cells (one row × one text column) per rule, as the row lint counts;
examples are those the row lint would report for the same batches, read from
the rendered batch when given, else rendered for just the blocks they sit in.
Rendered fields are never null (``render_slot`` always returns a string), so
null cells — an ``empty_field`` for the row lint — do not arise here.

>>> from schemas.records import LexiconEntry, Template
>>> from transforms.plan import Block, ConfigLayout
>>> from transforms.lexicon_context import LexiconContext
>>> t = Template.create(task="sentiment", fields={"sentence": "{person.subj} {person:was} sure."}, answer="positive")
>>> lex = [LexiconEntry("n", "gender", "x", "Alex", "they"), LexiconEntry("n", "gender", "x", "Ana", "she")]
>>> r = lint_blocks([Block("c", t, "x", 0, [0, 1, 1])], ConfigLayout("sentiment", "gender", "n"),
...                 LexiconContext({"n": lex}), ["sentence"])
>>> r.counts["agreement"], r.rows
(0, 3)
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Collection, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.records import TASK_FIELDS
from schemas.slots import ParsedText, Slot, parse_slots
from transforms.plan import Block, ConfigLayout, block_selection
from transforms.lexicon_context import LexiconContext, filler_where
from transforms.expand import bind_referents, render_block
from transforms.render import render_column
from schemas.lint import (_EMPTY, _LEFTOVER, _MAX_EXAMPLE_CHARS, MAX_EXAMPLES, RULES, LintResult, _rule_masks,
                          split_whitespace)

#: The rules decided on tokens and token pairs (the OR rules); empty_field is an AND over pieces.
TOKEN_RULES = ("leftover_slot", "agreement", "article_mismatch", "doubled_word")
_RULE_INDEX = {r: i for i, r in enumerate(RULES)}

# --------------------------------------------------------------------------------------------------
# literal pieces: where their tokens sit (Arrow's whitespace split, the row lint's tokeniser)


@dataclass(frozen=True)
class _Literal:
    text: str
    anchor: bool  # has a token that never touches a neighbouring piece
    head: str = ""  # text up to the end of its first such token
    inner: str = ""  # from its first such token to its last
    tail: str = ""  # from its last such token to the end
    blank: bool = False  # matches the empty_field regex (``^\s*$``)
    braces: str = ""  # which of "{", "}" it holds


_LITERALS: dict[str, _Literal] = {}


def _analyse_literals(texts: Sequence[str]) -> None:
    pending = sorted({t for t in texts if t not in _LITERALS})
    if not pending:
        return
    arr = pa.array(pending, pa.string())
    tokens = split_whitespace(arr).to_pylist()
    blank = pc.match_substring_regex(arr, _EMPTY).to_pylist()
    # Arrow's split yields "" tokens for leading/trailing whitespace ("a " -> ["a", ""]); they are
    # never flagged by any rule (an article needs a word after it, a doubling a letter), so skip them
    for s, toks, is_blank in zip(pending, tokens, blank):
        braces = "".join(b for b in "{}" if b in s)
        spans, pos = [], 0
        for tok in filter(None, toks):  # whitespace-free and in order: the next occurrence is the token
            i = s.find(tok, pos)
            spans.append((i, i + len(tok)))
            pos = i + len(tok)
        m = len(spans)
        first = 1 if m and spans[0][0] == 0 else 0  # a token at the literal's edge glues to its neighbour
        last = m - 2 if m and spans[-1][1] == len(s) else m - 1
        if m and first <= last:
            _LITERALS[s] = _Literal(s, True, s[:spans[first][1]], s[spans[first][0]:spans[last][1]],
                                    s[spans[last][0]:], bool(is_blank), braces)
        else:
            _LITERALS[s] = _Literal(s, False, blank=bool(is_blank), braces=braces)


# --------------------------------------------------------------------------------------------------
# field plans: a template field as constant texts and junctions


@dataclass(frozen=True)
class _Junction:
    parts: tuple  # literal strings and Slots, in text order
    referents: tuple[str, ...]


@dataclass
class _FieldPlan:
    parsed: ParsedText
    constants: tuple[str, ...]  # anchor inner texts and slot-free junctions
    junctions: tuple[_Junction, ...]  # with slots
    referents: tuple[str, ...]
    slots: dict[str, tuple[Slot, ...]]  # per referent, its slots in this field
    blank_literals: bool  # every literal is blank: the field is empty where every rendering is blank too
    literal_braces: str
    const_flags: dict = field(default_factory=dict)  # overrides key -> {rule: bool}


_PLANS: dict[str, _FieldPlan] = {}


def _plan_fields(texts: Sequence[str]) -> None:
    pending = [t for t in dict.fromkeys(texts) if t not in _PLANS]
    if not pending:
        return
    parsed = {t: parse_slots(t) for t in pending}
    _analyse_literals([p for pt in parsed.values() for p in pt.pieces if isinstance(p, str)])
    for text, pt in parsed.items():
        groups: list[list] = [[]]
        constants: list[str] = []
        for piece in pt.pieces:
            lit = _LITERALS.get(piece) if isinstance(piece, str) else None
            if lit is not None and lit.anchor:
                groups[-1].append(lit.head)
                constants.append(lit.inner)
                groups.append([lit.tail])
            else:
                groups[-1].append(piece)
        junctions = []
        for parts in groups:
            merged: list = []
            for p in parts:
                if isinstance(p, str):
                    if not p:
                        continue
                    if merged and isinstance(merged[-1], str):
                        merged[-1] += p
                        continue
                merged.append(p)
            refs = tuple(dict.fromkeys(p.referent for p in merged if isinstance(p, Slot)))
            if not refs:
                if merged:
                    constants.append("".join(merged))
            else:
                junctions.append(_Junction(tuple(merged), refs))
        literals = [_LITERALS[p] for p in pt.pieces if isinstance(p, str)]
        slots: dict[str, list] = {}
        for s in pt.slots:
            slots.setdefault(s.referent, []).append(s)
        _PLANS[text] = _FieldPlan(
            pt, tuple(constants), tuple(junctions), tuple(slots), {r: tuple(v) for r, v in slots.items()},
            all(lit.blank for lit in literals), "".join(sorted({b for lit in literals for b in lit.braces})))


def _flags_of(strings: pa.Array, overrides) -> dict[str, np.ndarray]:
    masks = _rule_masks(strings, overrides)
    return {r: np.asarray(pc.fill_null(masks[r], False).to_numpy(zero_copy_only=False), dtype=bool)
            for r in TOKEN_RULES}


def _const_flags(plans: Sequence[_FieldPlan], overrides, okey) -> None:
    pending = [p for p in plans if okey not in p.const_flags]
    if not pending:
        return
    strings = [s for p in pending for s in p.constants]
    flags = _flags_of(pa.array(strings, pa.string()), overrides) if strings else {}
    at = 0
    for p in pending:
        k = len(p.constants)
        p.const_flags[okey] = {r: bool(k and flags[r][at:at + k].any()) for r in TOKEN_RULES}
        at += k


# --------------------------------------------------------------------------------------------------
# per-entry flags, cached on the lexicon group's columns


class _EntryCache:
    """What the lint learnt about one LexiconColumns (one entry group): per slot, per junction, per field."""

    def __init__(self):
        self.blank: dict = {}  # slot key -> bool array (rendering matches ^\s*$)
        self.braces: dict = {}  # slot key -> "{", "}", "{}" or ""
        # (overrides key, parts) -> {rule: bool array over the entries, or None} and under COVERED the entries
        # linted so far (a bool array, or None: all of them); an entry not linted yet reads False
        self.junctions: dict = {}
        self.generation = 0  # counts the junctions' coverage growing: field flags of an older one are stale
        self.fields: dict = {}  # (overrides key, field text, referent) -> (generation, {rule: bool array or None})
        self.leftover: dict = {}  # field text -> bool array: whole-field leftover (brace fields only)


_CACHES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _cache(cols) -> _EntryCache:
    c = _CACHES.get(cols)
    if c is None:
        c = _EntryCache()
        _CACHES[cols] = c
    return c


def _slot_blank(cols, slot: Slot) -> np.ndarray:
    c = _cache(cols)
    v = c.blank.get(slot.key)
    if v is None:
        v = np.asarray(pc.match_substring_regex(cols.column(slot), _EMPTY).to_numpy(zero_copy_only=False), bool)
        c.blank[slot.key] = v
    return v


def _slot_braces(cols, slot: Slot) -> str:
    c = _cache(cols)
    v = c.braces.get(slot.key)
    if v is None:
        col = cols.column(slot)
        v = "".join(b for b in "{}" if len(col) and pc.any(pc.match_substring(col, b)).as_py())
        c.braces[slot.key] = v
    return v


def _join(parts: Sequence, column, length: int) -> pa.Array:
    """Parts (strings, Slots) joined per element; ``column(slot)`` gives a Slot's strings."""
    arrays = [column(p) if isinstance(p, Slot) else p for p in parts]
    if len(arrays) == 1:
        return arrays[0] if isinstance(arrays[0], pa.Array) else pa.array([arrays[0]] * length, pa.string())
    return pc.binary_join_element_wise(*arrays, "")


#: Junction strings are linted in batches of about this many (bounded memory, few kernel calls).
_BATCH_STRINGS = 1 << 20


COVERED = "covered"  # a junction's cache entry: beside its rules' flags, which entries they hold


def _missing(cache: dict | None, wanted: np.ndarray | None) -> np.ndarray | None:
    """The entries of ``wanted`` (indices; None: every entry) that a junction's cache entry has not linted:
    indices, or None for all of them."""
    if cache is None:
        return wanted
    covered = cache[COVERED]
    if covered is None:
        return np.zeros(0, np.int64)
    if wanted is None:
        return np.flatnonzero(~covered)
    return wanted[~covered[wanted]]


def _fill_junctions(pairs: Sequence[tuple], overrides, okey) -> None:
    """Lint the junctions of ``(cols, junction, entries)`` triples for the entries not yet linted: ``entries``
    are indices into ``cols.entries`` (None: every entry), all at once.

    Only the entries rows use are linted: calm-v1 draws some names of thousands for each template, and
    linting every name in every junction cost more than linting the rows. Strings are deduplicated
    first: a junction often renders alike for many entries ("hours. They were tired" for every entry of
    a they-group), and those are linted once.
    """
    pending, wanted = [], {}
    for cols, j, entries in pairs:
        key = (id(cols), okey, j.parts)
        if key not in wanted:
            wanted[key] = []
            pending.append((cols, j, key))
        wanted[key].append(entries)
    work = []
    for cols, j, key in pending:
        lists = wanted[key]
        entries = None if any(e is None for e in lists) else np.unique(np.concatenate(lists)).astype(np.int64)
        if entries is not None and len(entries) == len(cols.entries):  # every entry (HolisticBias: all of them)
            entries = None
        missing = _missing(_cache(cols).junctions.get((okey, j.parts)), entries)
        if missing is None or len(missing):
            work.append((cols, j, missing))
    start = 0
    while start < len(work):
        chunk, size = [], 0
        while start < len(work) and (not chunk or size < _BATCH_STRINGS):
            cols, _, missing = work[start]
            chunk.append(work[start])
            size += len(cols.entries) if missing is None else len(missing)
            start += 1
        joined = [_join(j.parts, cols.column, len(cols.entries)) if missing is None else
                  _join(j.parts, lambda slot, c=cols, m=missing: c.column(slot).take(m), len(missing))
                  for cols, j, missing in chunk]
        if size:
            encoded = pc.dictionary_encode(pa.concat_arrays(joined))
            distinct = _flags_of(encoded.dictionary, overrides)
            codes = encoded.indices.to_numpy(zero_copy_only=False)
            flags = {r: distinct[r][codes] for r in TOKEN_RULES}
        at = 0
        for cols, j, missing in chunk:
            c = _cache(cols)
            n = len(cols.entries) if missing is None else len(missing)
            got = c.junctions.get((okey, j.parts))
            if got is None:
                got = {r: None for r in TOKEN_RULES}
                got[COVERED] = np.zeros(len(cols.entries), bool)
            for r in TOKEN_RULES:
                v = flags[r][at:at + n] if n else None
                if v is None or not v.any():
                    continue
                if missing is None:
                    got[r] = v
                else:
                    if got[r] is None:
                        got[r] = np.zeros(len(cols.entries), bool)
                    got[r][missing] = v
            if missing is None:
                got[COVERED] = None
            else:
                got[COVERED][missing] = True
                if got[COVERED].all():
                    got[COVERED] = None
            c.junctions[(okey, j.parts)] = got
            c.generation += 1
            at += n


def _junction_flags(cols, junctions: Sequence[_Junction], overrides, okey) -> list[dict]:
    """Per junction (one referent, filled from ``cols``), per rule, a bool array over the entries (None: none),
    right at every entry linted so far (``BoundaryLinter.prepare`` lints those its blocks' rows use; a
    junction never linted is linted here for every entry)."""
    c = _cache(cols)
    if any((okey, j.parts) not in c.junctions for j in junctions):
        _fill_junctions([(cols, j, None) for j in junctions if (okey, j.parts) not in c.junctions], overrides, okey)
    return [c.junctions[(okey, j.parts)] for j in junctions]


def _or(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a | b


def _field_entry_flags(plan: _FieldPlan, text: str, ref: str, cols, overrides, okey) -> dict:
    """Per rule, the OR over the field's one-referent junctions of ``ref``: a bool array over the entries or None.

    ``"empty_field"``: the AND over ``ref``'s slots of "renders blank" (None: never blank).
    """
    c = _cache(cols)
    key = (okey, text, ref)
    generation, got = c.fields.get(key, (None, None))
    if got is None or generation != c.generation:
        mine = [j for j in plan.junctions if j.referents == (ref,)]
        got = {r: None for r in TOKEN_RULES}
        for jf in _junction_flags(cols, mine, overrides, okey):
            for r in TOKEN_RULES:
                got[r] = _or(got[r], jf[r])
        blank = None
        if plan.blank_literals:
            blank = np.ones(len(cols.entries), bool)
            for s in plan.slots[ref]:
                blank &= _slot_blank(cols, s)
            if not blank.any():
                blank = None
        got["empty_field"] = blank
        c.fields[key] = (c.generation, got)
    return got


# --------------------------------------------------------------------------------------------------
# blocks: which entry fills each referent in each row (transforms.expand.bind_referents)


class _Rows:
    """One block's rows: per referent, its entry group's columns and each row's entry (None: entries 0..n-1)."""

    def __init__(self, block: Block, layout: ConfigLayout, ctx: LexiconContext, strategy: str, seed: int):
        template = block.template
        primary = ctx.group(layout.lexicon, layout.axis, block.lexicon_group, filler_where(template))
        size = len(primary.entries)
        implicit = block.selection is None and not block.strata and (strategy == "all" or not block.sample)
        if implicit:  # block_selection would return 0 … n-1: the first person's rows stay implicit
            sel = np.arange(size if block.count is None else block.count, dtype=np.int64)
        else:
            sel = np.asarray(block_selection(block, strategy, seed, size), dtype=np.int64)
        self.n = len(sel)
        self.refs: dict[str, tuple] = dict(bind_referents(template, layout, ctx, primary, sel, block.group))
        if implicit:
            first = next(r for r in template.referents if layout.lexicon_of(r) == layout.lexicon)
            self.refs[first] = (primary, None)

    def take(self, ref: str, values: np.ndarray) -> np.ndarray:
        idx = self.refs[ref][1]
        return values[:self.n] if idx is None else values[idx]

    def indices(self, ref: str) -> pa.Array:
        idx = self.refs[ref][1]
        return pa.array(np.arange(self.n, dtype=np.int64) if idx is None else idx)


# --------------------------------------------------------------------------------------------------
# the linter


class BoundaryLinter:
    """Lints runs of blocks of one config, as the row lint would lint their rendered batches."""

    def __init__(self, layout: ConfigLayout, ctx: LexiconContext, text_columns: Sequence[str], *,
                 article_overrides: Mapping[str, str] | None = None, strategy: str = "all", seed: int = 0,
                 id_column: str = "example_id"):
        self.layout, self.ctx = layout, ctx
        self.text_columns = list(text_columns)
        self.overrides = dict(article_overrides or {})
        self.okey = tuple(sorted(self.overrides.items()))
        self.strategy, self.seed, self.id_column = strategy, seed, id_column
        self._prepared: set[str] = set()
        self._rows: dict[int, tuple[Block, _Rows]] = {}  # id(block) -> the block and its rows, until linted
        fields = set(TASK_FIELDS[layout.task]) | {"answer"}
        missing = [c for c in self.text_columns if c not in fields]
        if missing:
            raise KeyError(f"lint: no column {missing[0]!r} rendered from a {layout.task} template "
                           f"(have {sorted(fields)})")

    def _texts(self, template) -> list[str]:
        return [template.answer if c == "answer" else template.fields[c] for c in self.text_columns]

    def prepare(self, blocks: Sequence[Block]) -> None:
        """Plan every field of these blocks' templates, and lint their one-referent junctions for the
        entries the blocks' rows use, at once (fewer, larger kernel calls)."""
        seen, texts, fresh = self._prepared, [], []
        for b in blocks:
            if b.template.template_id not in seen:
                seen.add(b.template.template_id)
                texts += self._texts(b.template)
            if id(b) not in self._rows:
                fresh.append(b)
        if texts:
            _plan_fields(texts)
            _const_flags([_PLANS[t] for t in dict.fromkeys(texts)], self.overrides, self.okey)
        pairs = []
        for b in fresh:
            rows = _Rows(b, self.layout, self.ctx, self.strategy, self.seed)
            self._rows[id(b)] = (b, rows)  # the block too: its id stays its own while it is held here
            for text in self._texts(b.template):
                for j in _PLANS[text].junctions:
                    if len(j.referents) == 1:
                        cols, idx = rows.refs[j.referents[0]]
                        pairs.append((cols, j, np.arange(rows.n, dtype=np.int64) if idx is None else idx))
        if pairs:
            _fill_junctions(pairs, self.overrides, self.okey)

    def _block_rows(self, block: Block) -> _Rows:
        """The block's rows, as ``prepare`` bound them (then forgotten: a block is linted once)."""
        held = self._rows.pop(id(block), None)
        return held[1] if held is not None else _Rows(block, self.layout, self.ctx, self.strategy, self.seed)

    def _field_masks(self, plan: _FieldPlan, text: str, rows: _Rows) -> dict:
        """Per rule: True (every row), None (no row) or a bool array over the block's rows."""
        n = rows.n
        const = plan.const_flags[self.okey]
        out: dict = {r: (True if const[r] else None) for r in TOKEN_RULES}
        for ref in plan.referents:
            cols = rows.refs[ref][0]
            ef = _field_entry_flags(plan, text, ref, cols, self.overrides, self.okey)
            for r in TOKEN_RULES:
                if out[r] is not True and ef[r] is not None:
                    out[r] = _or(out[r], rows.take(ref, ef[r]))
        mixed = [j for j in plan.junctions if len(j.referents) > 1]
        if mixed and n:
            def column(slot):
                return rows.refs[slot.referent][0].column(slot).take(rows.indices(slot.referent))

            joined = pa.concat_arrays([_join(j.parts, column, n) for j in mixed])
            flags = _flags_of(joined, self.overrides)
            for r in TOKEN_RULES:
                if out[r] is True:
                    continue
                hit = flags[r].reshape(len(mixed), n).any(axis=0)
                if hit.any():
                    out[r] = _or(out[r], hit)
        # the brace form of leftover_slot may span tokens: where a { and a } may meet, match whole fields
        braces = set(plan.literal_braces)
        for ref in plan.referents:
            cols = rows.refs[ref][0]
            for s in plan.slots[ref]:
                braces |= set(_slot_braces(cols, s))
        if braces >= {"{", "}"} and out["leftover_slot"] is not True:
            out["leftover_slot"] = self._whole_field_leftover(plan, text, rows)
        if plan.blank_literals:
            blank: object = True
            for ref in plan.referents:
                ef = _field_entry_flags(plan, text, ref, rows.refs[ref][0], self.overrides, self.okey)
                if ef["empty_field"] is None:
                    blank = None
                    break
                m = rows.take(ref, ef["empty_field"])
                blank = m if blank is True else blank & m
            out["empty_field"] = blank
        else:
            out["empty_field"] = None
        return out

    def _whole_field_leftover(self, plan: _FieldPlan, text: str, rows: _Rows):
        if len(plan.referents) == 1:
            (ref,) = plan.referents
            cols = rows.refs[ref][0]
            c = _cache(cols)
            v = c.leftover.get(text)
            if v is None:
                n = len(cols.entries)
                rendered = render_column(plan.parsed, {ref: pa.array(np.arange(n, dtype=np.int64))}, {ref: cols}, n)
                v = np.asarray(pc.match_substring_regex(rendered, _LEFTOVER).to_numpy(zero_copy_only=False), bool)
                c.leftover[text] = v
            return rows.take(ref, v)
        rendered = render_column(plan.parsed, {r: rows.indices(r) for r in plan.referents},
                                 {r: rows.refs[r][0] for r in plan.referents}, rows.n)
        return np.asarray(pc.match_substring_regex(rendered, _LEFTOVER).to_numpy(zero_copy_only=False), bool)

    def lint_run(self, blocks: Sequence[Block], batch: pa.RecordBatch | pa.Table | None = None, *,
                 examples_for: Collection[str] | None = None) -> LintResult:
        """Lint the rows of these blocks (in block order) — ``lint_batch`` of their rendered batch, exactly.

        ``batch``, when given, is that rendered batch: examples are read from it. Without it,
        the few blocks holding examples are rendered. ``examples_for``: the rules to give examples
        for (default all; a caller merging results in order needs none for rules already at
        ``MAX_EXAMPLES``).
        """
        wanted = set(RULES if examples_for is None else examples_for)
        self.prepare(blocks)
        counts = {r: 0 for r in RULES}
        found: dict[tuple[int, int], list[tuple[int, Block, int]]] = {}  # (rule, column) -> [(row, block, local)]
        offset = 0
        for block in blocks:
            rows = self._block_rows(block)
            n = rows.n
            if n:
                for ci, text in enumerate(self._texts(block.template)):
                    masks = self._field_masks(_PLANS[text], text, rows)
                    for rule, m in masks.items():
                        if m is None:
                            continue
                        ri = _RULE_INDEX[rule]
                        k = n if m is True else int(np.count_nonzero(m))
                        if not k:
                            continue
                        counts[rule] += k
                        if rule not in wanted:
                            continue
                        have = found.setdefault((ri, ci), [])
                        if len(have) < MAX_EXAMPLES:
                            local = range(MAX_EXAMPLES) if m is True else np.flatnonzero(m)[:MAX_EXAMPLES]
                            have += [(offset + int(i), block, int(i)) for i in local if i < n]
                            del have[MAX_EXAMPLES:]
            offset += n
        if batch is not None and batch.num_rows != offset:
            raise ValueError(f"lint: the batch has {batch.num_rows} rows, its blocks {offset}")
        return LintResult(counts=counts, examples=self._examples(found, batch), rows=offset)

    def _examples(self, found: dict, batch) -> list[dict]:
        examples: list[dict] = []
        per_rule: dict[int, int] = {}
        rendered: dict[int, pa.RecordBatch] = {}
        for (ri, ci), hits in sorted(found.items()):
            for row, block, local in hits:
                if per_rule.get(ri, 0) >= MAX_EXAMPLES:
                    break
                per_rule[ri] = per_rule.get(ri, 0) + 1
                column = self.text_columns[ci]
                if batch is not None:
                    source, at = batch, row
                else:
                    if id(block) not in rendered:
                        rendered[id(block)] = render_block(block, self.layout, self.ctx, strategy=self.strategy,
                                                           seed=self.seed)
                    source, at = rendered[id(block)], local
                text = source.column(column)[at].as_py()
                has_id = self.id_column in source.schema.names
                examples.append({
                    "rule": RULES[ri], "column": column,
                    "example_id": str(source.column(self.id_column)[at].as_py()) if has_id else str(row),
                    "text": "" if text is None else text[:_MAX_EXAMPLE_CHARS],
                })
        return examples


def lint_blocks(blocks_or_runs: Sequence, layout: ConfigLayout, ctx: LexiconContext, text_columns: Sequence[str],
                article_overrides: Mapping[str, str] | None = None, *, strategy: str = "all", seed: int = 0,
                batches: Sequence | None = None, id_column: str = "example_id") -> LintResult:
    """Lint rendered rows without rendering them: ``lint_batch`` of each run's batch, merged in order.

    ``blocks_or_runs`` holds runs (lists of blocks rendered as one batch) or single blocks (a
    batch each); ``batches``, if given, are those rendered batches, for the examples' text.
    """
    linter = BoundaryLinter(layout, ctx, text_columns, article_overrides=article_overrides, strategy=strategy,
                            seed=seed, id_column=id_column)
    runs = [list(r) if not isinstance(r, Block) else [r] for r in blocks_or_runs]
    linter.prepare([b for r in runs for b in r])
    result = LintResult()
    for i, run in enumerate(runs):
        result = result.merge(linter.lint_run(run, batches[i] if batches is not None else None,
                                              examples_for=examples_wanted(result)))
    return result


def examples_wanted(so_far: LintResult | None) -> list[str]:
    """The rules for which a result merged after ``so_far`` can still contribute examples."""
    if so_far is None:
        return list(RULES)
    shown = {r: 0 for r in RULES}
    for ex in so_far.examples:
        shown[ex["rule"]] += 1
    return [r for r in RULES if shown[r] < MAX_EXAMPLES]
