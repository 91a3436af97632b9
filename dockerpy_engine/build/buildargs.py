"""Build arguments with dockerd's scoping (builder/dockerfile/buildargs.go).

An ARG before the first FROM is a meta arg: usable in FROM lines, and re-declarable in a
stage (`ARG NAME` without a value takes the meta value). Each FROM starts with no allowed
args; a stage's ARG allows one, its value coming from the `buildargs` query first, then its
default. The proxy args are allowed without being declared, but they only reach a RUN's
cache key when declared, so a proxy change doesn't bust the cache. A `buildargs` entry no
ARG ever declared is reported at the end as unused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

BUILTIN_ARGS = frozenset(
    {
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "FTP_PROXY",
        "ftp_proxy",
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
    }
)


class BuildArgs:
    def __init__(self, from_options: Mapping[str, str | None]) -> None:
        self._options = dict(from_options)
        self._allowed: dict[str, str | None] = {}
        self._meta: dict[str, str | None] = {}
        self._referenced: set[str] = set()

    def clone(self) -> BuildArgs:
        other = BuildArgs(self._options)
        other._allowed = dict(self._allowed)
        other._meta = dict(self._meta)
        other._referenced = self._referenced  # shared: a use in any stage counts
        return other

    def add_arg(self, name: str, default: str | None) -> None:
        self._allowed[name] = default
        self._referenced.add(name)

    def add_meta_arg(self, name: str, default: str | None) -> None:
        self._meta[name] = default

    def reset_allowed(self) -> None:
        """A new stage: only what it declares (and the proxies) is allowed."""
        self._allowed = {}

    def _value(self, name: str, mapping: Mapping[str, str | None]) -> str | None:
        if name not in mapping and name not in BUILTIN_ARGS:
            return None
        if self._options.get(name) is not None:
            return self._options[name]
        default = mapping.get(name)
        if default is None:
            return self._meta.get(name) if name in mapping else None
        return default

    def _all(self, mapping: Mapping[str, str | None]) -> dict[str, str]:
        values: dict[str, str] = {}
        for name in sorted({*mapping, *BUILTIN_ARGS}):
            value = self._value(name, mapping)
            if value is not None:
                values[name] = value
        return values

    def allowed(self) -> dict[str, str]:
        return self._all(self._allowed)

    def meta(self) -> dict[str, str]:
        """What FROM lines may expand."""
        return self._all(self._meta)

    def filter_allowed(self, env: Iterable[str]) -> list[str]:
        """The args a RUN sees as environment: those ENV does not already set."""
        defined = {entry.partition("=")[0] for entry in env}
        return [f"{k}={v}" for k, v in self.allowed().items() if k not in defined]

    def in_cache_key(self, name: str) -> bool:
        """IsReferencedOrNotBuiltin: an undeclared proxy arg stays out of the cache key."""
        return name in self._allowed or name not in BUILTIN_ARGS

    def unused(self) -> list[str]:
        return sorted(
            name
            for name in self._options
            if name not in self._referenced and name not in BUILTIN_ARGS
        )
