"""Lexicon loader ``holistic_bias``: HolisticBias descriptors × nouns → noun-phrase entries.

``path`` is a folder laid out like HolisticBias ``dataset/v1.1``. Options:
``article_overrides`` (first word → "a"/"an"). See ``transforms.holistic_bias``.
"""

from __future__ import annotations

from schemas.records import LexiconEntry
from transforms import holistic_bias
from transforms.lexicons.base import register_lexicon_loader


@register_lexicon_loader("holistic_bias")
def load_holistic_bias(spec, path: str) -> list[LexiconEntry]:
    return holistic_bias.lexicon_entries(path, lexicon=spec.name, overrides=spec.options.get("article_overrides"))
