"""Lenient reading of a settings dataclass from JSON: a bad or missing value falls back to the default.

A settings file is edited by hand now and then, and written by older or newer versions of the app.
Reading never raises: each field that cannot be used is replaced by its default and reported as a
:class:`LoadNotice`, so the app starts and tells the user what it ignored.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias, TypeVar, Union

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# What ``json`` reads and writes: the shape of a settings file and of a preset export.
JsonValue: TypeAlias = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]

T = TypeVar("T", bound="DataclassInstance")


@dataclass(frozen=True, slots=True)
class LoadNotice:
    field: str  # dotted settings path, e.g. "omni.temperature"
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class _Invalid(Exception):
    pass


def _coerce(value: object, hint: object) -> object:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg)
            except _Invalid:
                continue
        raise _Invalid
    if origin is tuple:
        item_type = typing.get_args(hint)[0]
        if not isinstance(value, list | tuple):
            raise _Invalid
        return tuple(_coerce(v, item_type) for v in value)
    if origin is list:
        if not isinstance(value, list):
            raise _Invalid
        return list(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise _Invalid
        return dict(value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise _Invalid
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _Invalid
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise _Invalid
    if hint is str:
        if isinstance(value, str):
            return value
        raise _Invalid
    if hint is typing.Any:
        return value
    raise _Invalid


@functools.cache
def _type_hints(cls: type) -> dict[str, object]:
    # Resolving string annotations is slow; the settings classes never change at run time.
    return typing.get_type_hints(cls)


def from_mapping(cls: type[T], data: object, prefix: str, notices: list[LoadNotice]) -> T:
    """Build dataclass ``cls`` from ``data``; nested dataclass fields are read recursively."""
    default = cls()
    if not isinstance(data, dict):
        if data is not None:
            notices.append(LoadNotice(prefix, "not an object; defaults used"))
        return default
    hints = _type_hints(cls)
    values: dict[str, object] = {}
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        path = f"{prefix}.{field.name}" if prefix else field.name
        hint = hints[field.name]
        if field.name not in data:
            continue
        raw = data[field.name]
        if dataclasses.is_dataclass(hint) and isinstance(hint, type):
            values[field.name] = from_mapping(hint, raw, path, notices)
            continue
        try:
            values[field.name] = _coerce(raw, hint)
        except _Invalid:
            notices.append(LoadNotice(path, f"{raw!r} has the wrong type; the default is used"))
    return dataclasses.replace(default, **values)


def to_mapping(obj: DataclassInstance) -> dict[str, JsonValue]:
    """Plain JSON-ready data of a dataclass (tuples become lists)."""
    return {f.name: _to_json(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _to_json(obj: object) -> JsonValue:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_mapping(obj)
    if isinstance(obj, tuple | list):
        return [_to_json(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): _to_json(v) for k, v in obj.items()}
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    raise TypeError(f"{type(obj).__name__} is not a settings value")
