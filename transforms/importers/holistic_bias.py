"""Importer ``holistic_bias``: HolisticBias sentence_templates.json → statement templates.

``path`` is the sentence_templates.json file or the folder holding it; see
``transforms.holistic_bias.templates`` for the conversion and flags.
"""

from __future__ import annotations

from typing import Iterator

from schemas.records import Template
from transforms import holistic_bias
from transforms.importers.base import register_importer


@register_importer("holistic_bias")
def import_holistic_bias(spec, path: str) -> Iterator[Template]:
    yield from holistic_bias.templates(path, task=spec.task or "statement",
                                       source_dataset=spec.source_dataset or "holistic_bias",
                                       license=spec.license or holistic_bias.LICENSE)
