"""The documented fix list of the corrected BBQ templates (``configs/bbq.yaml``).

Each :class:`Fix` rewrites one exact piece of text in BBQ's template CSVs (BBQ's
``{{NAME1}}`` syntax, before conversion to canonical slots), in one column of the rows of
one category whose ``Q_id`` is listed (``at_start``: only at the column's start). A fix that
matches a row must match it exactly ``count`` times, and every fix must match some row
(``unused_fixes``), so a changed input file is an error instead of a silent no-op. Entries that
share an id are one fix over several columns (counted once per row).

The rule that is not a single edit, articles chosen by the sound of the word that follows
("a university", "a one percenter", "an elderly man"), lives in the importer
(``transforms.importers.bbq``: ``a {{NAME1}}`` becomes ``{a:person}``) and in the
four-way renderer (``transforms.four_way``: literal articles before ``{{WORD}}`` fillers).
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.errors import InputError


@dataclass(frozen=True)
class Fix:
    id: str
    category: str
    question_ids: tuple[str, ...]  # BBQ's Q_id of every row the fix applies to
    column: str  # a column of the template CSV
    old: str
    new: str
    note: str
    count: int = 1  # matches per row
    at_start: bool = False  # ``old`` only where the column starts with it


def _capital_answers(category: str, question_ids: tuple[str, ...]) -> tuple[Fix, ...]:
    """BBQ writes most answers "The …"; these rows' answers start "the …" (a lower-case start of the
    option's text, found by the grammar check). One fix per category, over both answer columns."""
    slug = category.lower().replace("_", "-")
    return tuple(Fix(f"{slug}-answer-capital", category, question_ids, column, "the ", "The ",
                     "an answer option starts in lower case ('the …' → 'The …')", at_start=True)
                 for column in ("Answer_negative", "Answer_non_negative"))


FIXES: tuple[Fix, ...] = (
    Fix("age-listening-to", "Age", ("1",), "Disambiguating_Context", "not really listening the advice",
        "not really listening to the advice", "missing preposition ('listening the advice')"),
    Fix("physical-already-already", "Physical_appearance", ("4",), "Disambiguating_Context",
        "had already already broken", "had already broken", "doubled word ('already already')"),
    Fix("religion-people-people", "Religion", ("3",), "Disambiguating_Context", "making sure people people at",
        "making sure people at", "doubled word ('people people')"),
    Fix("religion-with-with", "Religion", ("5",), "Disambiguating_Context", "man, with with {{NAME1}}",
        "man, with {{NAME1}}", "doubled word ('with with')"),
    Fix("physical-a-grade", "Physical_appearance", ("3",), "Disambiguating_Context", "get an A in the end",
        "get an A grade in the end", "the grade 'A' reads as an article before 'in' ('A in'); named as a grade"),
    Fix("race-a-grade", "Race_ethnicity", ("17",), "Question_non_negative", "hoping for an A in the class",
        "hoping for an A grade in the class", "the grade 'A' reads as an article before 'in'; named as a grade"),
    Fix("race-a-grade-in-the-class", "Race_ethnicity", ("37",), "Question_non_negative",
        "hoping for an A on the class", "hoping for an A grade in the class",
        "wrong preposition ('an A on the class'), and the grade named as a grade"),
    Fix("ses-the-one", "SES", ("24",), "Answer_non_negative", "The on {{NAME2}}", "The one {{NAME2}}",
        "typo in the answer ('The on on welfare')"),
    *_capital_answers("Disability_status", ("5", "9")),
    *_capital_answers("Gender_identity", ("10",)),
    *_capital_answers("Nationality", ("6", "7", "8")),
    *_capital_answers("Physical_appearance", ("13", "20", "21", "22")),
    *_capital_answers("Race_x_SES", ("21", "23")),
    *_capital_answers("Race_x_gender", ("19", "21", "22", "24", "26")),
    *_capital_answers("Sexual_orientation", ("4",)),
)


def apply_fixes(row: dict, category: str, fixes, where: str) -> tuple[dict, list[tuple[str, str]]]:
    """The row with every fix for it applied, and (fix id, column) of each fix applied, in list order."""
    applied = []
    for fix in fixes:
        if fix.category != category or row.get("Q_id") not in fix.question_ids:
            continue
        text = row.get(fix.column, "")
        found = int(text.startswith(fix.old)) if fix.at_start else text.count(fix.old)
        if found == 0:  # another row of the same question (rows of one Q_id differ in wording)
            continue
        if found != fix.count:
            raise InputError(f"{where}: fix {fix.id!r} expects {fix.old!r} {fix.count} time(s) in column "
                             f"{fix.column!r}, found {found}")
        fixed = fix.new + text[len(fix.old):] if fix.at_start else text.replace(fix.old, fix.new)
        row = {**row, fix.column: fixed}
        applied.append((fix.id, fix.column))
    return row, applied


def unused_fixes(fixes, applied_ids) -> list[str]:
    """Fixes that matched no row: the input changed under the fix list."""
    seen = set(applied_ids)
    return [f.id for f in fixes if f.id not in seen]
