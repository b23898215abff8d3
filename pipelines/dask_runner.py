"""Beam's Dask runner, with the two fixes biasbench's pipelines need.

Beam 2.77's ``DaskRunner`` (a) computes only the last Dask bag of the graph, so a
pipeline with several sinks silently skips all but one, (b) sends every tagged
output of a multi-output ``ParDo`` into the main output's bag, and (c) collects
a bundle's outputs before ``finish_bundle``, dropping what a DoFn emits there
(``BatchElements`` emits its last batch there). This subclass computes every
leaf of the graph, runs each ParDo bundle to the end before collecting, and
gives each tagged output a bag of its own; Create, GroupByKey, Flatten and side
inputs keep Beam's own translation. It also closes its Dask client at the end.
"""

from __future__ import annotations

import dask
import dask.distributed as ddist
from apache_beam import DoFn, TaggedOutput
from apache_beam.pipeline import PipelineVisitor
from apache_beam.pvalue import PBegin
from apache_beam.runners.common import DoFnContext, DoFnInvoker, DoFnSignature, _OutputHandler
from apache_beam.runners.dask import dask_runner as beam_dask
from apache_beam.runners.dask.overrides import dask_overrides
from apache_beam.runners.dask.transform_evaluator import (TRANSLATIONS, DaskBagWindowedIterator, Flatten, NoOp,
                                                          OneReceiver, ParDo, get_windowed_value)
from apache_beam.transforms.sideinputs import SideInputMap
from apache_beam.utils.windowed_value import WindowedValue


def _run_bundle_tagged(items, invoker_args, invoker_kwargs, receivers):
    """One partition through the DoFn; every output as ``(tag, value)``, main output tag None."""
    receivers.values.clear()
    invoker = DoFnInvoker.create_invoker(*invoker_args, **invoker_kwargs)
    invoker.invoke_setup()
    invoker.invoke_start_bundle()
    for item in items:
        invoker.invoke_process(item)
    invoker.invoke_finish_bundle()
    invoker.invoke_teardown()
    out = []
    for value in receivers.values:
        if isinstance(value, TaggedOutput):
            out.append((value.tag, value.value))
        else:
            out.append((None, value.value if isinstance(value, WindowedValue) else value))
    return out


class _TaggedParDo(ParDo):
    """A ParDo whose bag holds ``(tag, value)`` pairs, split per output afterwards.

    Unlike Beam's, it collects a bundle's outputs after ``finish_bundle``.
    """

    def apply(self, input_bag, side_inputs=None):
        transform = self.transform
        args, kwargs = transform.raw_side_inputs
        main_input = next(iter(self.applied.main_inputs.values()))
        window_fn = main_input.windowing.windowfn if hasattr(main_input, "windowing") else None
        receivers = OneReceiver()
        handler = _OutputHandler(window_fn=window_fn, main_receivers=receivers[None], tagged_receivers=receivers,
                                 per_element_output_counter=None, output_batch_converter=None,
                                 process_yields_batches=False, process_batch_yields_elements=False)
        invoker_kwargs = dict(context=DoFnContext(transform.label, state=None), side_inputs=side_inputs,
                              input_args=list(args), input_kwargs=kwargs, user_state_context=None,
                              bundle_finalizer_param=DoFn.BundleFinalizerParam())
        return input_bag.map(get_windowed_value, window_fn).map_partitions(
            _run_bundle_tagged, [DoFnSignature(transform.fn), handler], invoker_kwargs, receivers)


def _pick(partition, tag):
    return [value for t, value in partition if t == tag]


class _BagVisitor(PipelineVisitor):
    """Translates each primitive transform to a bag, keyed by output PCollection."""

    def __init__(self, bag_kwargs):
        self.bag_kwargs = bag_kwargs
        self.bags = {}
        self.consumed = set()

    def visit_transform(self, node):
        op_class = TRANSLATIONS.get(node.transform.__class__, NoOp)
        tagged = op_class is ParDo
        op = (_TaggedParDo if tagged else op_class)(node, bag_kwargs=self.bag_kwargs)
        kwargs = {"input_bag": None, "side_inputs": None}
        inputs = [i for i in node.inputs if not isinstance(i, PBegin)]
        self.consumed.update(inputs)
        if node.inputs:
            bags = [None if isinstance(i, PBegin) else self.bags[i] for i in node.inputs]
            kwargs["input_bag"] = bags[0] if len(bags) == 1 and not isinstance(op, Flatten) else bags
        if node.side_inputs:
            kwargs["side_inputs"] = []
            for si in node.side_inputs:
                self.consumed.add(si.pvalue)
                iterator = DaskBagWindowedIterator(self.bags.get(si.pvalue), si._window_mapping_fn)
                kwargs["side_inputs"].append(SideInputMap(type(si), si._view_options(), iterator))
        bag = op.apply(**kwargs)
        for tag, pcoll in node.outputs.items():
            if tagged:
                key = None if pcoll is node.outputs.get(None) or tag in (None, "None") else tag
                self.bags[pcoll] = bag.map_partitions(_pick, key)
            else:
                self.bags[pcoll] = bag
        if not node.outputs:
            self.bags[("sink", node.full_label)] = bag

    def leaves(self):
        """Bags nobody consumes: computing all of them runs the whole graph once."""
        seen, out = set(), []
        for key, bag in self.bags.items():
            if key not in self.consumed and id(bag) not in seen:
                seen.add(id(bag))
                out.append(bag)
        return out


class _Result(beam_dask.DaskRunnerResult):
    def wait_until_finish(self, duration=None):
        try:
            return super().wait_until_finish(duration)
        finally:
            self.client.close()


class DaskRunner(beam_dask.DaskRunner):
    """``DaskRunner`` that runs every sink and routes tagged outputs (see module doc)."""

    def run_pipeline(self, pipeline, options):
        dask_options = options.view_as(beam_dask.DaskOptions).get_all_options(drop_default=True, current_only=True)
        bag_kwargs = beam_dask.DaskOptions._extract_bag_kwargs(dask_options)
        client = ddist.Client(**dask_options)
        pipeline.replace_all(dask_overrides())
        visitor = _BagVisitor(bag_kwargs)
        pipeline.visit(visitor)
        leaves = dask.optimize(*visitor.leaves())
        return _Result(client, list(client.compute(list(leaves))))
