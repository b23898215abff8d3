"""Size of the job graph a build submits: what Dataflow must accept (it limits a job's request size).

Runs phase 1 of a spec for real, plans its shards, builds the phase-2 pipeline as
``biasbench build`` does and prints the serialized size of both pipelines' runner
API protos (what a runner receives), without running phase 2.

    python benchmarks/graph_size.py calm --data-dir ../shared/data/calm
    python benchmarks/graph_size.py holistic-bias --data-dir ../shared/data/holistic_bias/v1.1
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    sys.path.insert(0, ROOT)
    import apache_beam as beam
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    from pipelines.graph import load_phase1, shard_graph, template_graph, write_catalogues
    from pipelines.spec import load_spec
    from transforms.plan import plan_shards
    from transforms.shards import write_plan

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    spec = load_spec(args.spec, data_dir=args.data_dir)
    staging = tempfile.mkdtemp(prefix="graph-size-")
    p1 = beam.Pipeline(runner=FnApiRunner())
    template_graph(p1, spec, staging)
    phase1_bytes = len(p1.to_runner_api().SerializeToString())
    p1.run().wait_until_finish()
    templates, lexicons, *_ = load_phase1(staging)
    tasks, ctx = plan_shards(spec, templates, lexicons)
    write_catalogues(spec, templates, ctx.lexicons, staging)
    paths = write_plan(staging, tasks, ctx)
    p2 = beam.Pipeline(runner=FnApiRunner())
    shard_graph(p2, paths, staging)
    phase2_bytes = len(p2.to_runner_api().SerializeToString())
    plan_bytes = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(os.path.join(staging, "_plan"))
                     for f in fs)
    print(f"{spec.benchmark}: phase-1 graph {phase1_bytes:,} bytes; phase-2 graph {phase2_bytes:,} bytes "
          f"({len(tasks)} shard tasks); plan files beside it {plan_bytes:,} bytes")


if __name__ == "__main__":
    main()
