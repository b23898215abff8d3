"""The Great Expectations suites of a release config, and running them.

Per config, on its rows:

- every required column exists (the head columns, the task's text fields);
- ``example_id``, ``template_id``, ``group``, ``filler`` and the text fields are never null;
- ``example_id`` is unique;
- ``group`` values are among the config's declared groups;
- ``fill_type`` is ``explicit`` or ``implicit``.

And on a derived frame with one row per template (rows per group, missing
groups counted as 0): ``spread`` = max − min is 0 for every template, when the
spec requires balanced groups.

Great Expectations costs ~3 s to import, so it is imported inside
``run_suites`` only. Text fields enter pandas as their lengths (nulls stay
null): the null checks need nothing more, and a 10M-row config then never
holds its text in pandas.

Usage: ``run_suites([load_config_frames(release_dir, "qa_gender", "qa",
["female", "male"])], require_balanced=True)``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.records import FILL_TYPES, TASK_FIELDS

KEY_COLUMNS = ("example_id", "template_id", "group", "filler", "fill_type")


def required_columns(task: str) -> list[str]:
    """Columns every row of the task must have, non-null (fill_type is checked by set)."""
    return ["example_id", "template_id", "group", "filler", *TASK_FIELDS[task]]


@dataclass
class ConfigFrames:
    """What the suites of one config look at: its rows (needed columns only) and the balance frame."""

    config: str
    task: str
    groups: list[str]
    rows: Any  # pandas.DataFrame
    balance: Any  # pandas.DataFrame: template_id, <one column per group>, min_count, max_count, spread
    columns: list[str]  # every column name in the config's files


def _balance_frame(table: pa.Table, groups: list[str]):
    import pandas as pd

    counts = table.group_by(["template_id", "group"]).aggregate([([], "count_all")]).to_pandas()
    if counts.empty:
        return pd.DataFrame({"template_id": [], "min_count": [], "max_count": [], "spread": []})
    wide = counts.pivot(index="template_id", columns="group", values="count_all")
    # Every declared group is a column, so a group a template never reached counts 0.
    extra = sorted(set(wide.columns) - set(groups))
    wide = wide.reindex(columns=[*groups, *extra]).fillna(0).astype("int64").sort_index()
    frame = pd.DataFrame({"template_id": wide.index.astype(str),
                          "min_count": wide.min(axis=1).to_numpy(), "max_count": wide.max(axis=1).to_numpy()})
    frame["spread"] = frame["max_count"] - frame["min_count"]
    return frame.reset_index(drop=True)


def load_config_frames(release_dir: str, config: str, task: str, groups: Sequence[str]) -> ConfigFrames:
    """Read the columns the suites need from ``release_dir/data/<config>/*.parquet``."""
    import glob

    files = sorted(glob.glob(os.path.join(release_dir, "data", config, "*.parquet")))
    if not files:
        raise FileNotFoundError(f"{os.path.join(release_dir, 'data', config)}: no Parquet files")
    wanted = [*KEY_COLUMNS, *TASK_FIELDS[task]]
    tables, names = [], None
    for path in files:
        schema = pq.ParquetFile(path).schema_arrow
        names = names or list(schema.names)
        t = pq.read_table(path, columns=[c for c in wanted if c in schema.names])
        for field in TASK_FIELDS[task]:
            if field in t.column_names:  # lengths, not text: nulls survive, memory does not explode
                t = t.set_column(t.column_names.index(field), field, pc.utf8_length(t[field]))
        tables.append(t)
    table = pa.concat_tables(tables, promote_options="default")
    bal_input = table.select([c for c in ("template_id", "group") if c in table.column_names])
    if bal_input.num_columns == 2:
        balance = _balance_frame(bal_input, list(groups))
    else:
        import pandas as pd
        balance = pd.DataFrame({"template_id": [], "min_count": [], "max_count": [], "spread": []})
    return ConfigFrames(config=config, task=task, groups=list(groups), rows=table.to_pandas(),
                        balance=balance, columns=names or [])


def _plain(value: Any) -> Any:
    """JSON-safe copies of GX result values (numpy scalars and arrays become Python)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return value.item()
        except (ValueError, TypeError):
            pass
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _row_expectations(gxe, frames: ConfigFrames) -> list[tuple[str, Any, Any]]:
    """(check name, expectation, expected value) for the rows frame."""
    present = set(frames.columns)
    out = []
    for col in required_columns(frames.task) + ["fill_type"]:
        out.append((f"column_exists:{col}", gxe.ExpectColumnToExist(column=col), "present"))
    for col in required_columns(frames.task):
        if col in present:  # a missing column already fails column_exists
            out.append((f"not_null:{col}", gxe.ExpectColumnValuesToNotBeNull(column=col), "no nulls"))
    if "example_id" in present:
        out.append(("unique:example_id", gxe.ExpectColumnValuesToBeUnique(column="example_id"), "unique"))
    if "group" in present:
        out.append(("group_in_declared", gxe.ExpectColumnValuesToBeInSet(column="group", value_set=frames.groups),
                    frames.groups))
    if "fill_type" in present:
        out.append(("fill_type_in_set", gxe.ExpectColumnValuesToBeInSet(column="fill_type", value_set=list(FILL_TYPES)),
                    list(FILL_TYPES)))
    return out


def _observed(result: dict) -> Any:
    r = result or {}
    if "unexpected_count" in r:
        return {"unexpected_count": r.get("unexpected_count"), "element_count": r.get("element_count"),
                "sample": r.get("partial_unexpected_list", [])[:10]}
    if "observed_value" in r:
        return r["observed_value"]
    return r or None


def run_suites(configs: Sequence[ConfigFrames], *, require_balanced: bool = True) -> list[dict[str, Any]]:
    """Run each config's suites in one ephemeral GX context; one check dict per expectation.

    Check dicts: ``{name, config, passed, observed, expected, details}`` in a
    fixed order (configs as given, expectations as listed in the module docstring).
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = ctx.data_sources.add_pandas("biasbench")
    checks: list[dict[str, Any]] = []
    for i, frames in enumerate(configs):
        plan = [("rows", frames.rows, _row_expectations(gxe, frames))]
        if require_balanced:
            plan.append(("balance", frames.balance, [(
                "balanced_groups",
                gxe.ExpectColumnValuesToBeBetween(column="spread", min_value=0, max_value=0),
                "spread 0 in every template")]))
        for kind, frame, expectations in plan:
            asset = source.add_dataframe_asset(f"{kind}-{i}")
            batch = asset.add_batch_definition_whole_dataframe("whole")
            suite = ctx.suites.add(gx.ExpectationSuite(name=f"{frames.config}-{kind}-{i}"))
            for _, exp, _ in expectations:
                suite.add_expectation(exp)
            vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=f"{frames.config}-{kind}-{i}",
                                                                        data=batch, suite=suite))
            res = vd.run(batch_parameters={"dataframe": frame}, result_format="SUMMARY")
            # Match results to checks by expectation id: GX does not promise suite order.
            by_id = {r.expectation_config.id: r for r in res.results}
            for name, exp, expected in expectations:
                r = by_id[exp.id]
                exc = r.exception_info or {}
                raised = exc.get("raised_exception") if isinstance(exc, dict) else False
                details: dict[str, Any] = {"expectation": r.expectation_config.type}
                if raised:
                    details["error"] = str(exc.get("exception_message", ""))[:300]
                if name == "balanced_groups" and not r.success and len(frame):
                    bad = frame[frame["spread"] != 0].sort_values("template_id")
                    details["unbalanced_templates"] = bad["template_id"].head(10).tolist()
                    details["unbalanced_count"] = int(len(bad))
                checks.append({"name": name, "config": frames.config, "passed": bool(r.success) and not raised,
                               "observed": _plain(_observed(r.result)), "expected": expected,
                               "details": _plain(details)})
    return checks
