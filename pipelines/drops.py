"""``rejected.json``: what a build dropped before expansion, counted by stage and reason.

Stages report each drop as ``{stage, reason, id, …}`` (a template or source record id);
a stage that only counts may report ``{stage, reason, count}`` instead. The driver merges
them into one record per (stage, reason) — ``{stage, reason, count, ids}``, ids sorted and
the first ``MAX_IDS`` listed — and writes them to the release with their counts, so that
nothing is lost silently: the build's summary prints the counts, the card states them.

>>> merge([{"stage": "filter", "reason": "max_referents", "id": "t2"},
...        {"stage": "filter", "reason": "max_referents", "id": "t1"},
...        {"stage": "extract", "reason": "no person", "count": 3}])
[{'stage': 'extract', 'reason': 'no person', 'count': 3, 'ids': []}, {'stage': 'filter', 'reason': 'max_referents', 'count': 2, 'ids': ['t1', 't2']}]
>>> counts_text({"filter/max_referents": 2, "dedup/exact": 1})
'dedup/exact 1, filter/max_referents 2'
"""

from __future__ import annotations

import json
from typing import Iterable, Mapping

from schemas import storage

DROPS_FILE = "rejected.json"
MAX_IDS = 100


def extraction_drop(rejection: Mapping) -> dict:
    """An extraction ``Rejection`` dict as a drop: its reason's leading phrase (before any ``:``) is the reason."""
    reason = str(rejection.get("reason_key") or rejection.get("reason", "")).split(":", 1)[0].strip() or "rejected"
    return {"stage": "extract", "reason": reason,
            "id": f"{rejection.get('source_dataset', '')}:{rejection.get('source_record_id', '')}"}


def candidate_filter_drop(rejected: Mapping) -> dict:
    """A candidate filter's ``{template, stage, reason}`` as a drop: stage ``extract``, the rule as reason."""
    return {"stage": "extract", "reason": rejected["stage"], "id": rejected["template"].get("template_id", "")}


def record_sample_drop(rejected: Mapping) -> dict:
    """A record a candidate filter dropped unparsed (outside a leading ``sample``, or past the point where a
    ``quota`` filled), counted as that filter's drop."""
    return {"stage": "extract", "reason": rejected["stage"],
            "id": f"{rejected['source_dataset']}:{rejected['record_id']}"}


def merge(drops: Iterable[Mapping]) -> list[dict]:
    """One ``{stage, reason, count, ids}`` per (stage, reason), sorted."""
    merged: dict[tuple[str, str], dict] = {}
    for d in drops:
        m = merged.setdefault((d["stage"], d["reason"]), {"stage": d["stage"], "reason": d["reason"], "count": 0,
                                                            "ids": set()})
        if "id" in d:
            m["count"] += 1
            m["ids"].add(str(d["id"]))
        else:
            m["count"] += int(d.get("count", 0))
            m["ids"].update(map(str, d.get("ids", ())))
    return [{**m, "ids": sorted(m["ids"])[:MAX_IDS]} for _, m in sorted(merged.items())]


def write_drops(staging_dir: str, drops: Iterable[Mapping]) -> dict[str, int]:
    """Write ``rejected.json`` when anything was dropped; return ``{"stage/reason": count}``."""
    records = merge(drops)
    if not records:
        return {}
    counts = {f"{r['stage']}/{r['reason']}": r["count"] for r in records}
    storage.write_json(storage.join(staging_dir, DROPS_FILE), {"counts": counts, "records": records},
                       ensure_ascii=False)
    return counts


def drop_counts(release_dir: str) -> dict[str, int]:
    """``{"stage/reason": count}`` from a release's (or staging folder's) ``rejected.json``; {} without one."""
    path = storage.join(release_dir, DROPS_FILE)
    return json.loads(storage.read_bytes(path))["counts"] if storage.exists(path) else {}


def counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
