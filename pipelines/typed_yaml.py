"""Load plain YAML mappings into typed dataclasses, with errors that say where.

>>> from dataclasses import dataclass
>>> @dataclass
... class Point:
...     x: int
...     y: int = 0
>>> load_typed(Point, {"x": 1}, where="p.yaml")
Point(x=1, y=0)
>>> load_typed(Point, {"x": 1, "z": 2}, where="p.yaml")
Traceback (most recent call last):
...
schemas.errors.SpecError: p.yaml: key 'z': unknown key; expected one of x, y
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, get_args, get_origin


from schemas.errors import SpecError


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _join(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _convert(tp, value: Any, where: str, path: str):
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, where, path)
            except SpecError as e:
                errors.append(str(e))
        raise SpecError(errors[0] if len(errors) == 1 else
                        f"{where}: key '{path}': expected {' or '.join(_type_name(a) for a in args)}, got {value!r}")
    if origin is typing.Literal:
        if value not in get_args(tp):
            raise SpecError(f"{where}: key '{path}': expected one of {', '.join(map(str, get_args(tp)))}, got {value!r}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise SpecError(f"{where}: key '{path}': expected a list, got {type(value).__name__}")
        (item,) = get_args(tp)[:1] or (Any,)
        out = [_convert(item, v, where, _join(path, i)) for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            raise SpecError(f"{where}: key '{path}': expected a mapping, got {type(value).__name__}")
        kt, vt = get_args(tp) or (Any, Any)
        return {_convert(kt, k, where, path): _convert(vt, v, where, _join(path, k)) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return load_typed(tp, value, where=where, path=path)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # YAML reads 1.0 or 2020 as numbers where a string was meant
    if isinstance(tp, type) and not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise SpecError(f"{where}: key '{path}': expected {_type_name(tp)}, got {value!r}")
    return value


def load_typed(cls, data: Any, *, where: str, path: str = ""):
    """Build dataclass ``cls`` from a mapping, checking keys and types recursively."""
    if not isinstance(data, dict):
        raise SpecError(f"{where}: key '{path or '<top>'}': expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise SpecError(f"{where}: key '{_join(path, unknown[0])}': unknown key; "
                        f"expected one of {', '.join(fields)}")
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], where, _join(path, name))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise SpecError(f"{where}: key '{_join(path, name)}': required key is missing")
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as e:  # __post_init__ checks
        raise SpecError(f"{where}: key '{path or '<top>'}': {e}") from None
