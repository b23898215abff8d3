"""Quarantined records: source records refused for their size before any expensive parsing.

A record over a size limit is not an error that stops the build: it is set aside
with where it is (source, unit and position in the file) and how big it is, never
its text, and the release lists it (``quarantine.json``).

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


@dataclass(frozen=True)
class Quarantined:
    """A record set aside for its size; ``size`` and ``limit`` are in the unit ``reason`` counts."""

    source: str  # the SourceSpec name
    unit: str  # "line", "record" or "row", as in the record's location
    position: int
    reason: str  # MAX_RECORD_BYTES (size in bytes) or MAX_CHARS (size in characters)
    size: int
    limit: int
    record_id: str = ""  # empty when the record was refused before it was parsed

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
