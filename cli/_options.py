"""`Options`: the base of the actions' option records (one per command, built by its
declaration in cli/commands and read by its action).

They were NamedTuples; `typing.NamedTuple` and `dataclasses` cost more to import than the
whole of `dockerpy ps` may spend, so this is the small part of them the CLI uses: fields
declared as class annotations, defaults as class values, construction by position or keyword,
immutability, equality, a readable repr and `replace()`.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Self

__all__ = ["Options"]

_REQUIRED = object()


class Options:
    """Subclass with annotated fields (`all: bool = False`); a field without a default is
    required. Instances are read-only."""

    _fields: tuple[str, ...] = ()

    def __init_subclass__(cls) -> None:
        own = tuple(cls.__dict__.get("__annotations__", {}))  # noqa: RUF063 - no inspect
        cls._fields = (*cls._fields, *(f for f in own if f not in cls._fields))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__} takes {len(fields)} fields, not {len(args)}")
        values = dict(zip(fields, args, strict=False))
        for name, value in kwargs.items():
            if name not in fields:
                raise TypeError(f"{type(self).__name__} has no field {name!r}")
            if name in values:
                raise TypeError(f"{type(self).__name__} got {name!r} twice")
            values[name] = value
        for name in fields:
            if name not in values and getattr(type(self), name, _REQUIRED) is _REQUIRED:
                raise TypeError(f"{type(self).__name__} needs {name!r}")
        self.__dict__.update(values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._fields)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({inner})"

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (NamedTuple's `_replace`)."""
        return type(self)(**{f: getattr(self, f) for f in self._fields} | changes)
