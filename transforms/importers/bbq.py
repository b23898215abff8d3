"""Importer ``bbq``: BBQ's template CSVs (``new_templates - <Category>.csv``) → two-person QA templates.

``path`` is BBQ's ``templates`` folder. Every row with an ambiguous context becomes one
template (rows with an empty ``Ambiguous_Context`` are skipped, as BBQ does; so is
``Filler_items``, which BBQ never expands). Its fields:

- ``context``: the ambiguous context; ``context_disambiguated``: the sentence(s) added in
  the disambiguated condition; ``question``: the negative question;
  ``question_non_negative``: the non-negative one (the four-way design in
  ``transforms.four_way`` crosses them);
- ``answer`` and ``options``: ``Answer_negative`` and (``Answer_negative``, ``Answer_non_negative``).

Slots: ``{{NAME1}}``/``{{NAME2}}`` become the two referents ``{person}``/``{person2}``;
``{{WORD1}}``/``{{WORD2}}`` the lexical-diversity slots ``{word1}``/``{word2}``; the
intersectional ``{{GEN1}}``/``{{OCC1}}`` (and ``…2``) the features ``{person.gen}``/
``{person.occ}``. Any other brace is literal (escaped). ``options.mode: v1`` writes every slot
verbatim (``{=person}``: never capitalised, as BBQ's string replacement did); ``corrected``
applies the fix list of ``transforms.importers.bbq_fixes`` to the CSV text first.

Everything else BBQ's generator reads goes into ``metadata`` as strings: ``category``,
``question_index``, ``version``, ``subcategory``, ``stereotyped_groups`` (BBQ's
``Known_stereotyped_groups``, or ``Known_stereotyped_race`` for the intersectional files),
``stereotyped_var2``, ``var2_info``, ``names`` (the ``Names`` column), ``lexical_diversity``,
``proper_nouns_only``, ``name1_info``, ``name2_info``, ``stated_gender_info``, ``notes``,
``relevant_social_values``, and ``bbq_columns`` (which optional columns the file has: BBQ's
generator branches on that).
"""

from __future__ import annotations

import csv
import os
import re
from typing import Iterator

from schemas.errors import InputError
from schemas.records import Template
from transforms.importers.base import register_importer

#: BBQ's categories in the order its two scripts generate them.
CATEGORIES = ("Disability_status", "Age", "Physical_appearance", "SES", "Gender_identity", "Race_ethnicity",
              "Religion", "Nationality", "Sexual_orientation", "Race_x_gender", "Race_x_SES")
INTERSECTIONAL = ("Race_x_gender", "Race_x_SES")
LICENSE = "CC-BY-4.0"

_SLOTS = {"NAME1": "person", "NAME2": "person2", "WORD1": "word1", "WORD2": "word2",
          "GEN1": "person.gen", "GEN2": "person2.gen", "OCC1": "person.occ", "OCC2": "person2.occ"}
_SLOT = re.compile(r"\{\{(" + "|".join(_SLOTS) + r")\}\}")
_ARTICLE_BEFORE = re.compile(r"(?:^|(?<=[\s\"'(]))([Aa]n?) $")
_FIELD_OF_COLUMN = {"Ambiguous_Context": "context", "Disambiguating_Context": "context_disambiguated",
                    "Question_negative_stereotype": "question", "Question_non_negative": "question_non_negative",
                    "Answer_negative": "options", "Answer_non_negative": "options"}
_OPTIONAL = ("Subcategory", "Names", "Proper_nouns_only", "NAME1_info", "version")


def to_canonical(text: str, verbatim: bool) -> str:
    """BBQ's ``{{NAME1}}`` … slots as canonical slots; every other brace literal.

    Not ``verbatim`` (the corrected mode), an article written before a person or word slot
    ("a {{NAME1}}", "an {{WORD2}}") becomes an article slot (``{a:person}``), chosen by the
    sound of what fills it.
    """
    out, last = [], 0
    for m in _SLOT.finditer(text):
        literal = text[last:m.start()]
        ref = _SLOTS[m.group(1)]
        article = None if verbatim or "." in ref else _ARTICLE_BEFORE.search(literal)
        if article:
            literal = literal[:article.start(1)]
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        out.append("{" + ("=" if verbatim else "") + ("a:" if article else "") + ref + "}")
        last = m.end()
    out.append(text[last:].replace("{", "{{").replace("}", "}}"))
    return "".join(out)


def template_file(folder: str, category: str) -> str:
    return os.path.join(folder, f"new_templates - {category}.csv")


def read_rows(folder: str, category: str) -> tuple[list[str], list[tuple[int, dict]]]:
    """The file's columns and its rows with an ambiguous context, each with its CSV line number."""
    path = template_file(folder, category)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            columns = list(reader.fieldnames or [])
            rows = [(reader.line_num, r) for r in reader]
    except OSError as e:
        raise InputError(f"{path}: cannot read BBQ templates: {e.strerror}") from None
    for needed in ("Q_id", "Ambiguous_Context", "Disambiguating_Context", "Question_negative_stereotype",
                   "Question_non_negative", "Answer_negative", "Answer_non_negative", "Lexical_diversity", "Notes"):
        if needed not in columns:
            raise InputError(f"{path}: column {needed!r} is missing")
    return columns, [(line, r) for line, r in rows if (r.get("Ambiguous_Context") or "") != ""]


def _templates(folder: str, category: str, position: int, mode: str, fixes, task: str, source: str,
               license_: str) -> Iterator[Template]:
    from transforms.importers.bbq_fixes import apply_fixes

    columns, rows = read_rows(folder, category)
    verbatim = mode == "v1"
    targets_col = "Known_stereotyped_race" if category in INTERSECTIONAL else "Known_stereotyped_groups"
    for i, (line, row) in enumerate(rows):
        row = {k: (v if v is not None else "") for k, v in row.items() if k is not None}
        applied: list[str] = []
        if fixes:
            row, applied = apply_fixes(row, category, fixes, where=f"{template_file(folder, category)}, line {line}")
        conv = {k: to_canonical(row[k], verbatim) for k in (
            "Ambiguous_Context", "Disambiguating_Context", "Question_negative_stereotype", "Question_non_negative",
            "Answer_negative", "Answer_non_negative")}
        metadata = {
            "category": category, "question_index": row["Q_id"], "version": row.get("version", "None"),
            "subcategory": row.get("Subcategory", ""), "stereotyped_groups": row.get(targets_col, ""),
            "stereotyped_var2": row.get("Known_stereotyped_var2", ""), "var2_info": row.get("Var2_info", ""),
            "names": row.get("Names", ""), "lexical_diversity": row["Lexical_diversity"],
            "proper_nouns_only": row.get("Proper_nouns_only", ""), "name1_info": row.get("NAME1_info", ""),
            "name2_info": row.get("NAME2_info", ""), "stated_gender_info": row.get("Stated_gender_info", ""),
            "notes": row["Notes"], "relevant_social_values": row.get("Relevant_social_values", ""),
            "bbq_columns": ",".join(c for c in _OPTIONAL if c in columns),
            "bbq_row": str(i),
            # which fixes changed which field: rows show a fix only where they show that field
            "fixes": ";".join(dict.fromkeys(f"{fid}@{_FIELD_OF_COLUMN.get(col, 'all')}" for fid, col in applied)),
        }
        yield Template.create(
            task=task, source_dataset=source, source_record_id=f"{category}:{line}",
            fields={"context": conv["Ambiguous_Context"], "context_disambiguated": conv["Disambiguating_Context"],
                    "question": conv["Question_negative_stereotype"],
                    "question_non_negative": conv["Question_non_negative"]},
            answer=conv["Answer_negative"], options=(conv["Answer_negative"], conv["Answer_non_negative"]),
            source_split="test", source_license=license_, provenance=(f"bbq:{mode}",),
            ordinal=position * 100_000 + i, metadata=metadata)


@register_importer("bbq")
def import_bbq(spec, path: str) -> Iterator[Template]:
    """``options``: ``mode`` (``v1`` or ``corrected``), ``categories`` (default: all eleven)."""
    options = dict(spec.options)
    mode = options.pop("mode", "v1")
    categories = options.pop("categories", list(CATEGORIES))
    if options:
        raise InputError(f"template_files ({spec.path}): unknown bbq option(s) {sorted(options)}")
    if mode not in ("v1", "corrected"):
        raise InputError(f"template_files ({spec.path}): options.mode must be 'v1' or 'corrected', not {mode!r}")
    for c in categories:
        if c not in CATEGORIES:
            raise InputError(f"template_files ({spec.path}): unknown BBQ category {c!r}; known: {', '.join(CATEGORIES)}")
    fixes = None
    if mode == "corrected":
        from transforms.importers.bbq_fixes import FIXES

        fixes = FIXES
    applied: set[str] = set()
    for c in categories:
        for t in _templates(path, c, CATEGORIES.index(c), mode, fixes, spec.task or "qa",
                            spec.source_dataset or "bbq", spec.license or LICENSE):
            applied.update(entry.split("@")[0] for entry in t.metadata["fixes"].split(";") if entry)
            yield t
    if fixes:
        from transforms.importers.bbq_fixes import unused_fixes

        unused = unused_fixes([f for f in fixes if f.category in categories], applied)
        if unused:
            raise InputError(f"{path}: BBQ fix(es) {', '.join(unused)} matched no template: the templates changed")
