"""Reading already-templated files and lexicons into the pipeline.

Both are small next to the rows they expand into, so each file is read by one
worker; the registries in ``transforms.importers`` and ``transforms.lexicons``
decide how a format is parsed.
"""

from __future__ import annotations

import pickle

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import LexiconEntry, fill_entry_ids
from transforms.importers import import_templates
from transforms.lexicons import load_lexicon


def _import_file(item):
    spec, path = item
    counter = Metrics.counter("import", spec.format)
    for template in import_templates(spec, path):
        counter.inc()
        yield template.to_dict()


def _load_all(items) -> dict[str, list[LexiconEntry]]:
    """{lexicon name: [entries in lexicon order]}, for the driver's planner (``LoadLexicons`` pickles it).

    Each entry carries its ``entry_id``, computed here once (``fill_entry_ids``), so the planner need
    not hash 20,000 entries again; the entries travel as they are (pickled with the id they keep), not
    as dicts turned back into entries by the planner (for HolisticBias's 22,029, about 0.3 s of the
    driver's time both ways together)."""
    out = {}
    for spec, path in items:
        if spec.name in out:
            raise ValueError(f"lexicon {spec.name!r} is defined twice")
        entries = list(load_lexicon(spec, path))
        fill_entry_ids(entries)
        for e in entries:
            e.entry_id  # noqa: B018 - an id fill_entry_ids left to the property: computed now, so it travels
        out[spec.name] = entries
    return out


class ImportTemplateFiles(beam.PTransform):
    """``[(TemplateFileSpec, path)]`` → Template dicts."""

    def __init__(self, files):
        super().__init__()
        self.files = list(files)

    def expand(self, pbegin):
        return pbegin | beam.Create(self.files, reshuffle=False) | beam.FlatMap(_import_file)


def _load_all_pickled(items) -> bytes:
    return pickle.dumps(_load_all(items), protocol=pickle.HIGHEST_PROTOCOL)


class LoadLexicons(beam.PTransform):
    """``[(LexiconSpec, path)]`` → one element: every lexicon's entries (``LexiconEntry``, ids filled), as
    ``_load_all``'s dict pickled.

    Pickled once here, where it is made: a dict of 22,029 entries as the element cost Beam a pickling of
    each entry (0.1 s) to estimate the element's size for its counters, and the driver another to store it.
    """

    def __init__(self, lexicons):
        super().__init__()
        self.lexicons = list(lexicons)

    def expand(self, pbegin):
        return pbegin | beam.Create([self.lexicons], reshuffle=False) | beam.Map(_load_all_pickled)
