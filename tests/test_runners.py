"""The in-process runner's shortcuts (pipelines.runners): options views made once, DoFn specs inspected once,
state samplers that wake often, and Beam still running what needs them (state, options read by the runner)."""

from __future__ import annotations

import pickle

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, StandardOptions
from apache_beam.runners.worker import statesampler
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import userstate
from apache_beam.transforms.userstate import BagStateSpec

from pipelines.runners import SAMPLING_PERIOD_MS, ViewCachingOptions, memoise_dofn_specs, pipeline_options


class _Collect(beam.DoFn):
    """A stateful DoFn: every value of a key into a bag, emitted sorted once the key has 3."""

    SEEN = BagStateSpec("seen", beam.coders.VarIntCoder())

    def process(self, kv, seen=beam.DoFn.StateParam(SEEN)):
        key, value = kv
        seen.add(value)
        values = sorted(seen.read())
        if len(values) == 3:
            yield key, values


def test_view_caching_options_make_each_view_once_and_share_values():
    options = ViewCachingOptions(["--direct_num_workers=3"])
    view = options.view_as(DirectOptions)
    assert options.view_as(DirectOptions) is view
    assert view.direct_num_workers == 3
    options.view_as(StandardOptions).runner = "somewhere"
    assert options.view_as(StandardOptions).runner == "somewhere"
    assert options.get_all_options()["runner"] == "somewhere"  # a view writes the one option dict
    restored = pickle.loads(pickle.dumps(options))
    assert "_views" not in restored.__dict__
    assert restored.view_as(DirectOptions).direct_num_workers == 3


def test_memoised_dofn_specs_inspect_each_object_once(monkeypatch):
    calls = []
    original = userstate.get_dofn_specs

    def counting(dofn):
        calls.append(dofn)
        return original(dofn)

    monkeypatch.setattr(userstate, "get_dofn_specs", counting)
    memoise_dofn_specs()
    memoise_dofn_specs()  # once memoised, a second call wraps nothing more
    stateful, plain = _Collect(), beam.Map(str).dofn
    states, timers = userstate.get_dofn_specs(stateful)
    assert [s.name for s in states] == ["seen"] and not timers
    states.clear()  # the caller's own set: the next answer is whole
    assert [s.name for s in userstate.get_dofn_specs(stateful)[0]] == ["seen"]
    assert userstate.is_stateful_dofn(stateful) and not userstate.is_stateful_dofn(plain)
    # three questions about the stateful DoFn and two about the plain one (ParDo asks when it is made): one
    # inspection of each
    assert sorted(map(id, calls)) == sorted([id(stateful), id(plain)])


def test_stateful_dofn_runs_on_the_memoised_in_process_runner(monkeypatch):
    monkeypatch.setattr(userstate, "get_dofn_specs", userstate.get_dofn_specs)  # restored after the test
    with pipeline_options("direct") as (make_runner, options):
        assert getattr(userstate.get_dofn_specs, "memoised", False)
        with beam.Pipeline(runner=make_runner(), options=options) as p:
            got = (p | beam.Create([("a", 3), ("b", 1), ("a", 1), ("b", 2), ("a", 2), ("b", 3)], reshuffle=False)
                   | beam.ParDo(_Collect()))
            assert_that(got, equal_to([("a", [1, 2, 3]), ("b", [1, 2, 3])]))


class _SamplingPeriod(beam.DoFn):
    """The sampling period of the state sampler tracking the bundle this DoFn runs in."""

    def process(self, _):
        yield statesampler.get_current_tracker().sampling_period_ms


def test_bundles_on_the_in_process_runner_are_sampled_often(monkeypatch):
    # a bundle's end joins its sampler's thread, which sleeps up to a period: Beam's 200 ms made the driver wait
    monkeypatch.setattr(statesampler.StateSampler.__init__, "__defaults__", (statesampler.DEFAULT_SAMPLING_PERIOD_MS,))
    assert statesampler.StateSampler("before", None).sampling_period_ms == statesampler.DEFAULT_SAMPLING_PERIOD_MS
    with pipeline_options("direct") as (make_runner, options):
        with beam.Pipeline(runner=make_runner(), options=options) as p:
            got = p | beam.Create([0]) | beam.ParDo(_SamplingPeriod())
            assert_that(got, equal_to([SAMPLING_PERIOD_MS]))
    assert SAMPLING_PERIOD_MS < statesampler.DEFAULT_SAMPLING_PERIOD_MS
