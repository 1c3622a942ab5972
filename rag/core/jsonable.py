"""One generic JSON round trip for the frozen dataclasses: `to_json(datum)` and `from_json(Type, data)`.

Fields are read from the dataclass and its type hints, so a new field needs no new code: nested
dataclasses, `tuple[X, ...]`, `list[X]`, `dict[str, Any]`, `X | None` and the plain scalars are handled;
a missing field takes its default, an unknown key is ignored (data written by a newer version still
reads), and a value of the wrong type is a ValueError naming the field.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def to_json(value: Any) -> Any:
    """A dataclass as a dict of its fields (recursively); tuples as lists; everything else as it is."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


def from_json(cls: type[T], data: Any) -> T:
    """The dataclass `cls` rebuilt from what `to_json` wrote."""
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in data:
            try:
                values[field.name] = _convert(hints[field.name], data[field.name])
            except ValueError as exc:
                raise ValueError(f"{cls.__name__}.{field.name}: {exc}") from None
    return cls(**values)


def _convert(hint: Any, value: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _convert(next(a for a in args if a is not type(None)), value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_json(hint, value)
    if origin in (tuple, list):
        if not isinstance(value, list):
            raise ValueError(f"expected a list, got {type(value).__name__}")
        item = args[0] if args else Any
        items = [_convert(item, v) for v in value]
        return tuple(items) if origin is tuple else items
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ValueError(f"expected an object, got {type(value).__name__}")
        return dict(value)
    if hint in (int, float, str, bool):
        if hint is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            raise ValueError(f"expected {hint.__name__}, got {type(value).__name__}")
    return value
