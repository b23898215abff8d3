"""``quarantine.json``: the source records a build set aside, for their size or as malformed.

Phase 1 dumps what ingest (``filters.max_record_bytes``, and records it could not read:
reason ``malformed``) and extraction (``filters.max_chars``) quarantined; the driver turns
it into a small release file: counts by reason and by source, then the records in file
order, each with its source, file (as the spec writes it, so the file is the same on
every machine), line/record/row, and size and limit or what is malformed (``detail``) —
never the text. Only the first ``MAX_LISTED`` are listed; all are counted.
A build that quarantines nothing writes no file.
"""

from __future__ import annotations

import json

from schemas import storage
from schemas.quarantine import MALFORMED, MAX_CHARS, Quarantined, count_by_reason

QUARANTINE_FILE = "quarantine.json"
MAX_LISTED = 1000
_UNITS = {MAX_CHARS: "characters"}  # every other reason counts bytes


def _entry(q: Quarantined, files: dict[str, str]) -> dict:
    entry = {"source": q.source, "file": q.file or files.get(q.source, ""), q.unit: q.position, "reason": q.reason}
    if q.reason == MALFORMED:
        entry["detail"] = q.detail
    else:
        entry.update(size=q.size, limit=q.limit)
    if q.record_id:
        entry["record_id"] = q.record_id
    return entry


def _order(entry: dict) -> tuple:
    unit = next(u for u in ("line", "record", "row") if u in entry)
    return entry["file"], entry["source"], unit, entry[unit], entry["reason"], entry.get("record_id", "")


def write_quarantine(spec, staging_dir: str, dumped: list[dict]) -> dict:
    """Write ``quarantine.json`` if phase 1 quarantined anything (``dumped``: its records as dicts).

    Returns what it wrote (``counts``, ``listed``, ``records`` in file order), or ``{}``.
    A record two extract rules refused counts once.
    """
    unique = list({Quarantined.from_dict(d) for d in dumped})
    if not unique:
        return {}
    files = {s.name: s.path for s in spec.sources}
    entries = sorted((_entry(q, files) for q in unique), key=_order)
    by_source: dict[str, int] = {}
    for q in unique:
        by_source[q.source] = by_source.get(q.source, 0) + 1
    report = {"counts": count_by_reason(unique), "by_source": dict(sorted(by_source.items())),
              "listed": min(len(entries), MAX_LISTED), "records": entries[:MAX_LISTED]}
    storage.write_json(storage.join(staging_dir, QUARANTINE_FILE), report, ensure_ascii=False)
    return report


def quarantine_counts(release_dir: str) -> dict[str, int]:
    """``{reason: records}`` from a release's ``quarantine.json``; empty when it has none."""
    path = storage.join(release_dir, QUARANTINE_FILE)
    if not storage.exists(path):
        return {}
    return json.loads(storage.read_bytes(path))["counts"]


def counts_text(counts: dict[str, int]) -> str:
    """``max_chars=1 max_record_bytes=2``."""
    return " ".join(f"{reason}={n:,}" for reason, n in counts.items())


def progress_line(report: dict) -> str | None:
    """One line for the build's progress output, naming the first record; None when there are none.

    >>> progress_line({"counts": {"max_chars": 1}, "records": [{"source": "qa", "file": "data/qa.jsonl",
    ...                "line": 7, "reason": "max_chars", "size": 900000, "limit": 4000}]})
    '[quarantine] 1 source record set aside for its size (max_chars=1), listed in quarantine.json; first: data/qa.jsonl, line 7: 900,000 characters, max_chars is 4,000'
    >>> progress_line({"counts": {"malformed": 2}, "records": [{"source": "qa", "file": "data/qa.jsonl",
    ...                "line": 3, "reason": "malformed", "detail": "not valid JSON: Expecting value (column 1)"}]})
    '[quarantine] 2 source records set aside, malformed (malformed=2), listed in quarantine.json; first: data/qa.jsonl, line 3: not valid JSON: Expecting value (column 1)'
    """
    if not report:
        return None
    total = sum(report["counts"].values())
    first = report["records"][0]
    unit = next(u for u in ("line", "record", "row") if u in first)
    if MALFORMED not in report["counts"]:
        why = " for its size" if total == 1 else " for their size"
    else:
        why = ", malformed" if len(report["counts"]) == 1 else ", malformed or too big"
    what = f"source record{'' if total == 1 else 's'} set aside{why}"
    if first["reason"] == MALFORMED:
        said = first["detail"]
    else:
        said = f"{first['size']:,} {_UNITS.get(first['reason'], 'bytes')}, {first['reason']} is {first['limit']:,}"
    return (f"[quarantine] {total:,} {what} ({counts_text(report['counts'])}), listed in {QUARANTINE_FILE}; "
            f"first: {first['file']}, {unit} {first[unit]}: {said}")
