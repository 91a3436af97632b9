"""What the command modules' flags share: value parsers with docker's error texts (the
`invalid argument "v" for "-x" flag: ...` suffixes) for sizes (`512m`), decimals (`--cpus 1.5`),
Go durations (`30s`) and filters (`k=v`), and the help texts of --format."""

from __future__ import annotations

from cli._command import Opt

__all__ = [
    "FORMAT_HELP",
    "FORMAT_TABLE_HELP",
    "cpus",
    "duration_ns",
    "filter_flag",
    "filter_opt",
    "filter_value",
    "ram_bytes",
    "uint16",
    "uint64",
]

FORMAT_TABLE_HELP = (
    "Format output using a custom template:\n"
    "'table':            Print output in table format with column headers (default)\n"
    "'table TEMPLATE':   Print output in table format using the given Go template\n"
    "'json':             Print in JSON format\n"
    "'TEMPLATE':         Print output using the given Go template.\n"
    "Refer to https://docs.docker.com/go/formatting/ for more information about formatting "
    "output with templates"
)
FORMAT_HELP = (
    "Format output using a custom template:\n"
    "'json':             Print in JSON format\n"
    "'TEMPLATE':         Print output using the given Go template.\n"
    "Refer to https://docs.docker.com/go/formatting/ for more information about formatting "
    "output with templates"
)

_RAM = r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$"
_MULT = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def ram_bytes(value: str) -> int:
    """units.RAMInBytes: `512m`, `1g`, `1024` (binary units); `-1` means unlimited."""
    import re  # here: a flag's parser runs only when the flag is given

    if value == "-1":
        return -1
    m = re.match(_RAM, value)
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
    import re

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


def filter_flag(help: str = "Filter output based on conditions provided") -> Opt:
    """The listing commands' `-f, --filter`."""
    return Opt("-f", "--filter", metavar="filter", parse=filter_value, help=help)


def filter_opt(example: str) -> Opt:
    """The prune commands' `--filter`, whose help shows an example of its values."""
    return Opt(
        "--filter",
        metavar="filter",
        parse=filter_value,
        help=f'Provide filter values (e.g. "{example}")',
    )


def _parse_uint(value: str, bits: int) -> int:
    """strconv.ParseUint(value, 10, bits), with its error texts."""
    if not value.isdigit() or not value.isascii():
        raise ValueError(f'strconv.ParseUint: parsing "{value}": invalid syntax')
    n = int(value)
    if n >= 1 << bits:
        raise ValueError(f'strconv.ParseUint: parsing "{value}": value out of range')
    return n


def uint16(value: str) -> int:
    return _parse_uint(value, 16)


def uint64(value: str) -> int:
    return _parse_uint(value, 64)
