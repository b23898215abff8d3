"""The lexicon-loader registry and ``load_lexicon``.

A loader is ``fn(spec: LexiconSpec, path: str) -> list[LexiconEntry]``; loaders in
their own module (``transforms.lexicons.<format>``) are found by name.

>>> @register_lexicon_loader("inline")
... def _inline(spec, path):
...     return [LexiconEntry(spec.name, "gender", "female", v, "she") for v in spec.options["values"]]
>>> _ = LEXICON_LOADERS.pop("inline")
"""

from __future__ import annotations

import importlib
from typing import Callable

from schemas.errors import SpecError
from schemas.records import LexiconEntry

Loader = Callable[..., list[LexiconEntry]]

#: format name -> loader
LEXICON_LOADERS: dict[str, Loader] = {}


def register_lexicon_loader(name: str) -> Callable[[Loader], Loader]:
    """Register ``fn(spec, path)`` as the loader of lexicon format ``name``."""
    def deco(fn: Loader) -> Loader:
        if name in LEXICON_LOADERS and LEXICON_LOADERS[name] is not fn:
            raise ValueError(f"a lexicon loader for format {name!r} is already registered")
        LEXICON_LOADERS[name] = fn
        return fn
    return deco


def load_lexicon(spec, path: str) -> list[LexiconEntry]:
    """The entries of one lexicon, in file order, each with ``lexicon = spec.name``."""
    if spec.format not in LEXICON_LOADERS:
        try:
            importlib.import_module(f"transforms.lexicons.{spec.format}")
        except ModuleNotFoundError as e:
            if e.name != f"transforms.lexicons.{spec.format}":
                raise
    if spec.format not in LEXICON_LOADERS:
        raise SpecError(f"lexicon {spec.name!r}: unknown format {spec.format!r}; "
                        f"known: {', '.join(sorted(LEXICON_LOADERS))}")
    return list(LEXICON_LOADERS[spec.format](spec, path))
