"""A curator's decisions applied to templates: accepted, rejected and hand-edited, by template id.

>>> from schemas.records import Template
>>> from schemas.spec import CurationSpec
>>> t = Template.create(task="sentiment", fields={"sentence": "{person} was glad."}, answer="positive")
>>> cur = CurationSpec(edits={t.template_id: {"sentence": "{person} was very glad."}})
>>> edited = curate(t, cur)
>>> edited.fields["sentence"], edited.provenance[-1] == f"curation: edited from {t.template_id}"
('{person} was very glad.', True)
>>> curate(t, CurationSpec(reject=[t.template_id])) is None
True
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

import apache_beam as beam

from schemas.records import Template
from schemas.slots import parse_slots


def curate(template: Template, curation) -> Template | None:
    """The template after the curator's decisions, or None when it is dropped."""
    tid = template.template_id
    if tid in curation.reject:
        return None
    if curation.only_accepted and tid not in curation.accept and tid not in curation.edits:
        return None
    if tid in curation.edits:
        changes = dict(curation.edits[tid])
        fields = dict(template.fields)
        answer, options = template.answer, list(template.options)
        for key, text in changes.items():
            parse_slots(text, template_id=tid, field=key)  # a typo in an edit fails with its id and key
            if key in fields:
                fields[key] = text
            elif key == "answer":
                answer = text
            elif key.startswith("options[") and key.endswith("]") and key[8:-1].isdigit() \
                    and int(key[8:-1]) < len(options):
                options[int(key[8:-1])] = text
            else:
                raise ValueError(f"curation edit of {tid}: no text {key!r} (have {', '.join(fields)}, answer, options)")
        return Template.create(task=template.task, fields=fields, answer=answer, options=tuple(options),
                               source_dataset=template.source_dataset, source_record_id=template.source_record_id,
                               source_split=template.source_split, source_license=template.source_license,
                               provenance=(*template.provenance, f"curation: edited from {tid}"),
                               ordinal=template.ordinal, metadata=dict(template.metadata))
    if tid in curation.accept:
        return replace(template, provenance=(*template.provenance, "curation: accepted"))
    return template


def _curate_dict(t: Mapping[str, Any], curation):
    out = curate(Template.from_dict(t), curation)
    if out is not None:
        yield out.to_dict()


class CurateTemplates(beam.PTransform):
    """Template dicts -> the curated template dicts (``curate`` on each)."""

    def __init__(self, curation):
        super().__init__()
        self.curation = curation

    def expand(self, templates):
        return templates | "Curate" >> beam.FlatMap(_curate_dict, self.curation)
