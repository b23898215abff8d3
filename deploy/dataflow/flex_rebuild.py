"""The Flex Template's entry point (``FLEX_TEMPLATE_PYTHON_PY_FILE`` in deploy/dataflow/Dockerfile).

Dataflow's launcher runs ``python flex_rebuild.py --spec=… --out=… [--data_dir=…] [--publish=…]
[--lock_ttl=…] [--runner=…]`` (the parameters of metadata.json) followed by the launch's pipeline
options (``--project=…``, ``--region=…``, ``--temp_location=…``, ``--job_name=…`` …). This turns
them into ``biasbench rebuild SPEC --out OUT --json --progress on --runner dataflow`` with every
pipeline option passed through as ``--beam-arg``; the exit code and the JSON outcome are rebuild's.
"""

from __future__ import annotations

import argparse
import sys

RUNNERS = {"dataflow": "dataflow", "DataflowRunner": "dataflow", "direct": "direct"}


def rebuild_argv(argv: list[str]) -> list[str]:
    """The ``biasbench`` arguments for the launcher's ``argv``."""
    p = argparse.ArgumentParser(prog="flex_rebuild.py")
    p.add_argument("--spec", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--data_dir")
    p.add_argument("--publish")
    p.add_argument("--lock_ttl")
    p.add_argument("--runner", default="dataflow", choices=sorted(RUNNERS))
    params, pipeline_options = p.parse_known_args(argv)
    runner = RUNNERS[params.runner]
    out = ["rebuild", params.spec, "--out", params.out, "--json", "--progress", "on", "--runner", runner]
    if params.data_dir:
        out += ["--data-dir", params.data_dir]
    if params.publish:
        out += ["--publish", params.publish]
    if params.lock_ttl:
        out += ["--lock-ttl", params.lock_ttl]
    if runner == "dataflow":
        out += [f"--beam-arg={option}" for option in pipeline_options]
    return out


def main(argv: list[str] | None = None) -> int:
    from pipelines.cli import main as biasbench

    return biasbench(rebuild_argv(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
