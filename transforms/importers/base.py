"""The importer registry and ``import_templates``.

An importer is ``fn(spec: TemplateFileSpec, path: str) -> Iterator[Template]``.

>>> @register_importer("one-line")
... def _one(spec, path):
...     yield Template.create(task="statement", fields={"text": open(path).read().strip()})
>>> _ = IMPORTERS.pop("one-line")
"""

from __future__ import annotations

import importlib
from typing import Callable, Iterator

from schemas.errors import SpecError
from schemas.records import Template

Importer = Callable[..., Iterator[Template]]

#: format name -> importer
IMPORTERS: dict[str, Importer] = {}


def register_importer(name: str) -> Callable[[Importer], Importer]:
    """Register ``fn(spec, path)`` as the importer of template format ``name``."""
    def deco(fn: Importer) -> Importer:
        if name in IMPORTERS and IMPORTERS[name] is not fn:
            raise ValueError(f"an importer for format {name!r} is already registered ({IMPORTERS[name].__module__})")
        IMPORTERS[name] = fn
        return fn
    return deco


def _find(fmt: str) -> Importer:
    if fmt not in IMPORTERS:
        # importers living in their own module register when it is imported: transforms.importers.<format>
        try:
            importlib.import_module(f"transforms.importers.{fmt}")
        except ModuleNotFoundError as e:
            if e.name != f"transforms.importers.{fmt}":
                raise
    if fmt not in IMPORTERS:
        raise SpecError(f"unknown template format {fmt!r}; known: {', '.join(sorted(IMPORTERS))}")
    return IMPORTERS[fmt]


def import_templates(spec, path: str) -> Iterator[Template]:
    """The templates of one template file (``spec.path`` resolved to ``path``), in file order."""
    return _find(spec.format)(spec, path)
