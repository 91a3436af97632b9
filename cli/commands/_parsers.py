"""Flag value parsers with docker's error texts (the `invalid argument "v" for "-x" flag: ...`
suffixes): sizes (`512m`), decimals (`--cpus 1.5`), Go durations (`30s`), filters (`k=v`)."""

from __future__ import annotations

import re

from cli._command import Opt

__all__ = ["cpus", "duration_ns", "filter_opt", "filter_value", "ram_bytes"]

_RAM = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_MULT = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def ram_bytes(value: str) -> int:
    """units.RAMInBytes: `512m`, `1g`, `1024` (binary units); `-1` means unlimited."""
    if value == "-1":
        return -1
    m = _RAM.match(value)
    if not m:
        raise ValueError(f"invalid size: '{value}'")
    return int(float(m.group(1)) * _MULT[(m.group(2) or "").lower()])


def cpus(value: str) -> int:
    """opts.NanoCPUs: a decimal number of CPUs as nano-CPUs."""
    try:
        n = float(value)
    except ValueError:
        raise ValueError(f"failed to parse {value} as a rational number") from None
    nano = n * 1e9
    if nano != int(nano):
        raise ValueError("value is too precise")
    return int(nano)


def duration_ns(value: str) -> int:
    """time.ParseDuration, in nanoseconds (`--health-interval 30s`), with Go's errors."""
    from cli.format import parse_go_duration

    d = parse_go_duration(value)
    if d is None:
        m = re.match(r"^[+-]?(\d+(?:\.\d*)?|\.\d+)([^\d.]*)", value)
        if not m:
            raise ValueError(f'time: invalid duration "{value}"')
        if not m.group(2):
            raise ValueError(f'time: missing unit in duration "{value}"')
        raise ValueError(f'time: unknown unit "{m.group(2)}" in duration "{value}"')
    return round(d * 1e9)


def filter_value(value: str) -> str:
    """opts.FilterOpt: `name=value`."""
    if "=" not in value:
        raise ValueError("bad format of filter (expected name=value)")
    return value


def filter_opt(example: str) -> Opt:
    """The prune commands' `--filter`, whose help shows an example of its values."""
    return Opt(
        "--filter",
        metavar="filter",
        parse=filter_value,
        help=f'Provide filter values (e.g. "{example}")',
    )
