"""docker ps (container ls): /containers/json through the ps formatter context, in docker's
table, `-q`, `--format` and `json` forms."""

from __future__ import annotations

from cli._options import Options
from cli.actions._common import filters_param, render
from cli.actions._contexts import CONTAINER_HEADERS, ContainerContext
from cli.api import CLIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from cli.env import Env

__all__ = ["PsOptions", "ps"]


class PsOptions(Options):
    """docker ps's flags."""

    all: bool = False  # -a: stopped ones too
    quiet: bool = False  # -q: IDs only
    size: bool = False  # -s: SIZE column (and ?size=1)
    last: int = -1  # -n: the n last created (any state)
    latest: bool = False  # -l: the last created
    no_trunc: bool = False
    filters: Sequence[str] = ()
    format: str = ""  # "", "table", "table TEMPLATE", "json" or a template


_PS_TABLE = (
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
)


class _FieldProbe(ContainerContext):
    """An empty container's context that notes the fields a template reads."""

    def __init__(self) -> None:
        super().__init__({}, True)
        self.used: set[str] = set()

    def go_field(self, name: str) -> Any:
        self.used.add(name)
        return super().go_field(name)

    def go_json(self) -> str:
        self.used.update(self._go_fields)
        return super().go_json()


def _fields_used(fmt: str) -> set[str]:
    """docker's ps runs a --format template once on an empty container first: its errors
    are reported then (`failed to parse/execute template`), and the fields it reads tell
    whether sizes must be asked for (`.Size`, or `json .`, which reads every field)."""
    from cli import gotemplate

    try:
        template = gotemplate.parse(fmt)
    except gotemplate.TemplateError as e:
        raise CLIError(f"failed to parse template: {e}") from None
    probe = _FieldProbe()
    try:
        template.execute(probe)
    except gotemplate.TemplateError as e:
        raise CLIError(f"failed to execute template: {e}") from None
    return probe.used


def ps(env: Env, opts: PsOptions) -> int:
    """The listing: the config file's psFormat when no --format is given; -s (or a format
    using .Size) asks the daemon for sizes; -n/-l imply -a."""
    fmt = opts.format or env.config.get("psFormat", "")
    if opts.quiet and fmt and fmt != "table":
        env.err.write(
            "WARNING: Ignoring custom format, because both --format and --quiet are set.\n"
        )
    size = opts.size or (bool(fmt) and "Size" in _fields_used(fmt) and not opts.quiet)
    limit = opts.last
    if opts.latest and limit == -1:
        limit = 1
    params: dict[str, Any] = {
        "all": "1" if opts.all or limit > 0 else None,
        "limit": str(limit) if limit > 0 else None,
        "size": "1" if size else None,
        "filters": filters_param(list(opts.filters)),
    }
    containers = env.api.get("/containers/json", params)
    if opts.quiet:
        fmt = "{{.ID}}"
    elif fmt in ("", "table"):
        fmt = _PS_TABLE + ("\t{{.Size}}" if opts.size else "")
    trunc = not opts.no_trunc
    render(env, fmt, CONTAINER_HEADERS, (ContainerContext(c, trunc) for c in containers))
    return 0
