"""``IngestSources``: the sources of a spec as one PCollection of SourceRecord dicts.

Each source is read whole by one worker, by the reader of its format, so its
records come out in file order; Beam never reorders within a bundle we do not
split, and later stages key or sort by content, never by arrival. Records over a
size limit, and malformed ones, come out on their own tag, as Quarantined dicts.

In a pipeline, ``p | IngestSources([(source_spec, resolved_path), ...])`` gives
``out.records`` and ``out.quarantined``.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.quarantine import Quarantined
from transforms.ingest.registry import read_source

NAMESPACE = "biasbench.ingest"
RECORDS, QUARANTINED = "records", "quarantined"  # the output tags of IngestSources


def read_as_dicts(index: int, sources: Sequence[tuple[Any, str]]) -> Iterator[dict]:
    """The records of ``sources[index]`` as dicts, counted per source name; quarantined ones tagged."""
    spec, path = sources[index]
    counter = Metrics.counter(NAMESPACE, f"records.{spec.name}")
    for rec in read_source(spec, path):
        if isinstance(rec, Quarantined):
            Metrics.counter(NAMESPACE, f"quarantined.{spec.name}").inc()
            yield beam.pvalue.TaggedOutput(QUARANTINED, rec.to_dict())
            continue
        counter.inc()
        yield rec.to_dict()


class IngestSources(beam.PTransform):
    """``PBegin ->`` tagged outputs ``records`` (``SourceRecord.to_dict()``) and ``quarantined``
    (``Quarantined.to_dict()``), one reader call per source.

    ``sources`` pairs each SourceSpec with its resolved path (``spec.resolve(s.path)``; a glob
    as ``expand_paths`` splits it, one pair per file).
    The specs travel inside the transform (pickled), not as elements, so no coder
    has to know about them; only indices are created.
    """

    def __init__(self, sources: Sequence[tuple[Any, str]]):
        super().__init__()
        self._sources = list(sources)

    def expand(self, pbegin):
        return (pbegin
                | "SourceIndices" >> beam.Create(list(range(len(self._sources))))
                | "Read" >> beam.FlatMap(read_as_dicts, self._sources).with_outputs(QUARANTINED, main=RECORDS))
