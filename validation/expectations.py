"""Great Expectations judges the release gate's facts, all of them in one validation.

The facts are computed where the rows are anyway: each shard tallies the rows
it writes (``schemas.tally``), the driver merges the tallies into the stats
(nulls, duplicate ids, undeclared groups, unknown fill types, unbalanced
templates, figures), and the Parquet footers give columns and row counts. What
Great Expectations then needs is one small frame, one row per fact::

    key                         observed  low    high
    qa_gender/not_null:filler   0         -inf   0
    qa_gender/min_distinct_2    0.61      0.3    inf

validated against two expectations (``observed >= low``, ``high >= observed``)
in one ephemeral context, whatever the number of rows or configs: a fact
passes when neither lists its key among the unexpected rows. Validating every
row of every config instead cost ~0.5 s per config and a full read of it.

Great Expectations costs ~3 s to import, so it is imported inside
``judge_facts`` only (the build runs it in a warmed-up child:
``validation.worker``).

Usage: ``judge_facts([Fact("qa_gender/min_rows", 12, low=1)])`` is true when every fact holds.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Fact:
    """One observed figure and the bounds it must lie within (None: unbounded on that side)."""

    key: str
    observed: float
    low: float | None = None
    high: float | None = None


def within(fact: Fact) -> bool:
    """The same judgement without Great Expectations (``biasbench validate`` by default: it then costs no import)."""
    return (fact.low is None or fact.observed >= fact.low) and (fact.high is None or fact.observed <= fact.high)


def judge_facts(facts: Sequence[Fact], engine: str = "great_expectations") -> dict[str, bool]:
    """{fact key: passed}, judged by Great Expectations in one validation (``engine="plain"``: by ``within``)."""
    if engine == "plain":
        return {f.key: within(f) for f in facts}
    if engine != "great_expectations":
        raise ValueError(f"unknown engine {engine!r}")
    if not facts:
        return {}
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pandas as pd
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batch = ctx.data_sources.add_pandas("biasbench").add_dataframe_asset("facts").add_batch_definition_whole_dataframe(
        "whole")
    suite = ctx.suites.add(gx.ExpectationSuite(name="release-gate"))
    suite.add_expectation(gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="observed", column_B="low", or_equal=True))
    suite.add_expectation(gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="high", column_B="observed", or_equal=True))
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name="release-gate", data=batch, suite=suite))
    frame = pd.DataFrame({
        "key": [f.key for f in facts],
        "observed": [float(f.observed) for f in facts],
        "low": [-math.inf if f.low is None else float(f.low) for f in facts],
        "high": [math.inf if f.high is None else float(f.high) for f in facts],
    })
    result = vd.run(batch_parameters={"dataframe": frame},
                    result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["key"]})
    failed = set()
    for r in result.results:
        exc = r.exception_info or {}
        if isinstance(exc, dict) and exc.get("raised_exception"):
            raise RuntimeError(f"Great Expectations could not judge the gate: {exc.get('exception_message')}")
        failed.update(row["key"] for row in (r.result or {}).get("unexpected_index_list") or [])
    return {f.key: f.key not in failed for f in facts}
