"""Pipeline options for the three supported runners.

- ``direct``: Beam's in-process FnApiRunner. The "DirectRunner" name first tries
  to download the Prism binary, which fails offline, so it is never used here.
  ``workers > 1`` runs bundles in that many local processes.
- ``dask``: ``apache_beam.runners.dask`` on a ``dask.distributed`` cluster at
  ``--dask-address``; with no address a local cluster of ``workers`` processes
  is started on 127.0.0.1 for the run.
- ``dataflow``: Google Cloud Dataflow; workers install this project through
  ``--setup_file`` (the sdist Beam stages, with setup.py's install_requires: the
  worker set). Needs ``[gcp]`` installed, a project, a region and a GCS temp
  location (passed through as extra Beam flags). With ``--template_location``
  Beam writes the job description and stages the package without running
  anything: see :func:`described_job`.
"""

from __future__ import annotations

import contextlib
import os
from typing import Callable, Iterator, Sequence

from apache_beam.options.pipeline_options import PipelineOptions

from schemas.errors import BiasbenchError

RUNNERS = ("direct", "dask", "dataflow")


class ViewCachingOptions(PipelineOptions):
    """PipelineOptions that make each view (``view_as``) once.

    Beam asks the options for a view several times for every transform it applies and every type it
    checks, and each new view builds and runs an argparse parser of every option Beam knows: about 280
    views for phase 1 of a template-file build, ~0.4 s of the driver's time. A view holds no values of
    its own (every view reads and writes the one option dict it shares with the others), so one view a
    class serves every caller. Used for the in-process runner, where the options never leave the driver.
    """

    def view_as(self, cls):
        views = self.__dict__.setdefault("_views", {})
        view = views.get(cls)
        if view is None:
            view = views[cls] = super().view_as(cls)
        return view

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_views", None)
        return state


def memoise_dofn_specs() -> None:
    """Make Beam's ``userstate.get_dofn_specs`` answer once per DoFn object (this process, from now on).

    It inspects the signature of every method of a DoFn (about thirty, most of them Beam's own) to find
    state and timer parameters, and Beam asks again for the same object each time it translates, fuses
    or runs the transform: 202 calls on 49 DoFns for phase 1 of a template-file build, ~0.3 s of the
    in-process driver. A DoFn's methods do not change once it exists, so the answer is kept for as long
    as the object lives (a weak reference drops it with the object; callers get their own sets).
    """
    import weakref

    from apache_beam.transforms import userstate

    inspect = userstate.get_dofn_specs
    if getattr(inspect, "memoised", False):
        return
    known: dict[int, tuple] = {}

    def get_dofn_specs(dofn):
        got = known.get(id(dofn))
        if got is None:
            try:
                ref = weakref.ref(dofn, lambda _, key=id(dofn): known.pop(key, None))
            except TypeError:  # an object without weak references: asked every time, as Beam does
                return inspect(dofn)
            got = known[id(dofn)] = (ref, inspect(dofn))
        states, timers = got[1]
        return set(states), set(timers)

    get_dofn_specs.memoised = True
    userstate.get_dofn_specs = get_dofn_specs


#: how often the in-process runner's state samplers wake (Beam's default: 200 ms)
SAMPLING_PERIOD_MS = 10


def shorten_state_sampling() -> None:
    """Make the state samplers Beam starts in this process wake every ``SAMPLING_PERIOD_MS``, not 200 ms.

    Each bundle runs with a sampler thread that sleeps between samples of which step is running (the
    steps' msec counters), up to 200 ms at a time, and ending the bundle joins that thread: the driver
    waits out the rest of the sleep, on average 100 ms a long bundle. A build of holistic-bias spent
    0.30 s of its wall time there (0.22 s at the end of the expansion), calm-v1 0.16 s. At 10 ms the
    thread takes a lock and reads a clock a hundred times a second; the counters only get finer.
    """
    import inspect

    from apache_beam.runners.worker import statesampler

    init = statesampler.StateSampler.__init__
    last = list(inspect.signature(init).parameters)[-1]
    if last == "sampling_period_ms" and init.__defaults__ and len(init.__defaults__) == 1:
        init.__defaults__ = (SAMPLING_PERIOD_MS,)


def project_setup_file() -> str:
    """This project's setup.py: Dataflow stages the sdist built from it, so it needs a source checkout."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "setup.py")
    if not os.path.exists(path):
        raise BiasbenchError(f"--runner dataflow stages this project from its setup.py, which is not at {path}: "
                             f"run from a source checkout (pip install -e '.[driver,gcp]')")
    return path


def described_job(runner: str, extra_args: Sequence[str]) -> str | None:
    """The file a Dataflow build only describes its job into (``--template_location``), else None.

    With it, ``DataflowRunner`` writes the job JSON and stages the package but runs
    nothing, so the driver never gets phase 1's output back.
    """
    if runner != "dataflow" or not any(a.startswith("--template_location") for a in extra_args):
        return None
    from apache_beam.options.pipeline_options import GoogleCloudOptions

    return PipelineOptions(list(extra_args)).view_as(GoogleCloudOptions).template_location or None


def _dask_log_level() -> int:
    import logging

    return logging.INFO if os.environ.get("BIASBENCH_DEBUG") else logging.ERROR


def quiet_dask_logs() -> None:
    """Dask logs INFO lines through its own handlers (the CLI's filter on the root logger never sees them):
    set its level, here and, through the environment, in the worker processes it starts."""
    import logging

    if os.environ.get("BIASBENCH_DEBUG"):
        return
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
    for name in ("distributed", "dask"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def pipeline_options(runner: str = "direct", workers: int = 1, dask_address: str | None = None,
                     extra_args: Sequence[str] = ()) -> Iterator[tuple[Callable[[], object], PipelineOptions]]:
    """Yield ``(runner factory, options)`` for one or more pipelines; tears down a cluster it started."""
    if runner not in RUNNERS:
        raise BiasbenchError(f"--runner {runner}: expected one of {', '.join(RUNNERS)}")
    args = list(extra_args)
    if runner == "direct":
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        if workers > 1:
            args += ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]
        memoise_dofn_specs()
        shorten_state_sampling()
        yield FnApiRunner, ViewCachingOptions(args)
    elif runner == "dask":
        try:
            quiet_dask_logs()
            from pipelines.dask_runner import DaskRunner
            import distributed
        except ImportError as e:
            raise BiasbenchError(f"--runner dask needs the dask extra: pip install 'biasbench[dask]' ({e})") from None
        # one shard task per bag partition, so shards spread over the workers
        args += ["--dask_partition_size=1"]
        if dask_address:
            yield DaskRunner, PipelineOptions(args + [f"--dask_client_address={dask_address}"])
        else:
            with distributed.LocalCluster(n_workers=max(workers, 1), threads_per_worker=1, processes=True,
                                          host="127.0.0.1", dashboard_address=None,
                                          silence_logs=_dask_log_level()) as cluster:
                yield DaskRunner, PipelineOptions(args + [f"--dask_client_address={cluster.scheduler_address}"])
    else:
        try:
            import apache_beam.runners.dataflow  # noqa: F401 - needs apache-beam[gcp]
        except ImportError as e:
            raise BiasbenchError(f"--runner dataflow needs apache-beam[gcp]: pip install 'biasbench[gcp]' ({e})")
        # the user's own --setup_file, if any, comes later and wins
        yield (lambda: "DataflowRunner"), PipelineOptions([f"--setup_file={project_setup_file()}"] + args)
