"""Quarantined records: source records set aside, never silently dropped, and never the end of a run.

A record over a size limit, or a malformed one (a line that is not JSON, a row with
the wrong number of cells, a record without its id or a mapped field), is not an
error that stops the build: it is set aside with where it is (source, file, unit
and position in the file), why, and for a size how big it is — never its text —
and the release lists it (``quarantine.json``).

>>> q = Quarantined("demo_qa", "line", 7, "max_chars", 900_000, 4000, record_id="qa-07")
>>> Quarantined.from_dict(q.to_dict()) == q, q.where()
(True, 'line 7')
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping

#: default of ``filters.max_record_bytes``: the largest record ingest passes on
DEFAULT_MAX_RECORD_BYTES = 1 << 20

#: why a record was quarantined: the spec key whose limit it exceeds
MAX_RECORD_BYTES, MAX_CHARS = "max_record_bytes", "max_chars"
#: why a record was quarantined: it could not be read as a record (``detail`` says how)
MALFORMED = "malformed"


@dataclass(frozen=True)
class Quarantined:
    """A record set aside; for a size ``reason``, ``size`` and ``limit`` are in the unit it counts
    (0 for a malformed record, whose ``detail`` says what is wrong)."""

    source: str  # the SourceSpec name
    unit: str  # "line", "record" or "row", as in the record's location
    position: int
    reason: str  # MAX_RECORD_BYTES (size in bytes) or MAX_CHARS (size in characters)
    size: int
    limit: int
    record_id: str = ""  # empty when the record was refused before it was parsed
    detail: str = ""  # what is malformed, one line
    file: str = ""  # the file as the spec names it, when a source reads several (a glob, a joined file)

    def where(self) -> str:
        return f"{self.unit} {self.position}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Quarantined":
        return cls(**data)


def count_by_reason(items: Iterable[Quarantined]) -> dict[str, int]:
    """``{reason: n}``, reasons sorted.

    >>> count_by_reason([Quarantined("s", "line", 1, "max_chars", 9, 4)] * 2)
    {'max_chars': 2}
    """
    counts: dict[str, int] = {}
    for q in items:
        counts[q.reason] = counts.get(q.reason, 0) + 1
    return dict(sorted(counts.items()))
