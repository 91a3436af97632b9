"""What a container's processes are and use: docker top (the daemon's ps output) and docker
stats (cgroup usage through the stats formatter context)."""

from __future__ import annotations

from cli._options import Options
from cli.actions._common import render
from cli.api import CLIError, quote
from cli.format import tabwrite

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from cli.env import Env

__all__ = ["StatsOptions", "stats", "top"]


def top(env: Env, container: str, ps_args: list[str]) -> int:
    """docker top: the daemon's ps table, re-aligned as docker's tabwriter does."""
    params = {"ps_args": " ".join(ps_args) if ps_args else None}
    doc = env.api.get(f"/containers/{quote(container)}/top", params)
    lines = ["\t".join(doc.get("Titles") or [])]
    lines += ["\t".join(p) for p in doc.get("Processes") or []]
    env.out.write(tabwrite("\n".join(lines) + "\n", minwidth=20, padding=3))
    return 0


class StatsOptions(Options):
    """docker stats' flags."""

    containers: Sequence[str] = ()  # none: every running container (-a: every one)
    all: bool = False
    no_stream: bool = False
    no_trunc: bool = False
    format: str = ""


_STATS_TABLE = (
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t"
    "{{.BlockIO}}\t{{.PIDs}}"
)


def _stats_sample(env: Env, ref: str) -> tuple[dict[str, Any] | None, str]:
    """One stats document (stream=false: the daemon samples twice, so CPU % has a delta) or
    the error docker records for the container."""
    try:
        return env.api.get(f"/containers/{quote(ref)}/stats", {"stream": "0"}), ""
    except CLIError as e:
        return None, str(e)


def stats(env: Env, opts: StatsOptions) -> int:
    """docker stats: a snapshot of each container's usage, collected in parallel. Named
    containers that fail make the command fail before anything is printed; with none named,
    failures show as `--`. Streaming redraws the table every half second until interrupted."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from cli.actions._contexts import STATS_HEADERS, StatsContext

    fmt = opts.format or env.config.get("statsFormat", "") or "table"
    if fmt == "table":
        fmt = _STATS_TABLE
    named = list(opts.containers)
    with ThreadPoolExecutor(max_workers=8) as pool:
        while True:
            refs = named or [
                c["Id"][:12]
                for c in env.api.get("/containers/json", {"all": "1" if opts.all else None})
            ]
            samples = list(pool.map(lambda r: (r, *_stats_sample(env, r)), refs))
            errors = [err for _, _, err in samples if err]
            if named and errors:
                raise CLIError("\n".join(errors))
            contexts = [StatsContext(ref, doc, not opts.no_trunc) for ref, doc, _ in samples]
            if not opts.no_stream:
                env.out.write("\033[2J\033[H")
            try:
                render(env, fmt, STATS_HEADERS, contexts)
            except CLIError as e:  # stats words both kinds of template error as parsing ones
                raise CLIError("template parsing error: " + str(e).split(": ", 1)[1]) from None
            env.out.flush()
            if opts.no_stream or (named and not contexts):
                return 0
            time.sleep(0.5)
