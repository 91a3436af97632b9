"""What a container's processes are and use: docker top (the daemon's ps output) and docker
stats (cgroup usage through the stats formatter context)."""

from __future__ import annotations

import time

from cli import _json
from cli._options import Options
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
# docker's collector resets a container's figures when no sample came for this long
_STALE = 2.0


class _Collector:
    """One container's usage, as docker's `collect`: its stats stream (one sample per second)
    read in a thread, or a single sample with --no-stream; the latest sample, or why there is
    none, for the display to take."""

    def __init__(self, env: Env, container: str, stream: bool) -> None:
        import threading

        self.env = env
        self.container = container  # what the user named, or the short ID (the Container field)
        self.stream = stream
        self.doc: dict[str, Any] | None = None  # none yet: docker shows zeros, then `--`
        self.error = ""
        self.updated = time.monotonic()
        self.first = threading.Event()
        self.response: Any = None
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        path = f"/containers/{quote(self.container)}/stats"
        try:
            if not self.stream:
                self._take(self.env.api.get(path, {"stream": "0"}))
                return
            self.response = self.env.api.request("GET", path, {"stream": "1"})
            for line in self.response.lines():
                if line.strip():
                    self._take(_json.loads(line))
            self.error = "EOF"
        except (CLIError, OSError, ValueError) as e:
            self.error = str(e) or type(e).__name__
        finally:
            self.first.set()

    def _take(self, doc: dict[str, Any]) -> None:
        self.doc, self.error, self.updated = doc, "", time.monotonic()
        self.first.set()

    def context(self, trunc: bool) -> Any:
        """The stats formatter's context for the latest sample; its figures are `--` after an
        error or when the samples stopped coming."""
        from cli.actions._contexts import StatsContext

        stale = self.stream and time.monotonic() - self.updated > _STALE
        invalid = bool(self.error) or stale
        return StatsContext(self.container, self.doc or {}, trunc, invalid=invalid)

    def close(self) -> None:
        if self.response is not None:
            self.response.close()


class _Watched:
    """The containers on display, in the order they came; with none named, kept up to date from
    the daemon's container events (start adds, die removes unless -a; with -a create adds)."""

    def __init__(self, env: Env, opts: StatsOptions) -> None:
        import threading

        self.env = env
        self.opts = opts
        self.lock = threading.Lock()
        self.collectors: dict[str, _Collector] = {}
        self.failure = ""  # the event stream's end: the command's error

    def add(self, container: str) -> None:
        with self.lock:
            if container not in self.collectors:
                self.collectors[container] = _Collector(
                    self.env, container, not self.opts.no_stream
                )

    def remove(self, container: str) -> None:
        with self.lock:
            collector = self.collectors.pop(container, None)
        if collector is not None:
            collector.close()

    def snapshot(self) -> list[_Collector]:
        with self.lock:
            return list(self.collectors.values())

    def follow_events(self, subscribed: Any) -> None:
        """Subscribe to container events (before the listing, so that no start is missed)."""
        try:
            resp = self.env.api.request(
                "GET", "/events", {"filters": _json.dumps({"type": {"container": True}})}
            )
        except CLIError as e:
            self.failure = str(e)
            subscribed.set()
            return
        subscribed.set()
        try:
            for line in resp.lines():
                event = _json.loads(line) if line.strip() else {}
                cid = (event.get("id") or (event.get("Actor") or {}).get("ID") or "")[:12]
                action = event.get("Action") or event.get("status") or ""
                if action == "start" or (action == "create" and self.opts.all):
                    self.add(cid)
                elif action == "die" and not self.opts.all:
                    self.remove(cid)
        except (CLIError, OSError, ValueError) as e:
            self.failure = str(e)
            return
        self.failure = "unexpected EOF"


def _frame(env: Env, fmt: str, contexts: list[Any], stream: bool) -> str:
    """One display: the formatted table; streaming, drawn over the previous one (cursor home,
    each line cleared to its end, what is left below cleared) as docker does."""
    from cli.actions._contexts import STATS_HEADERS
    from cli.format import FormatError, Formatter

    parts: list[str] = []
    try:
        Formatter(fmt, STATS_HEADERS).render(contexts, parts.append)
    except FormatError as e:
        raise CLIError(str(e)) from None
    text = "".join(parts)
    if not stream:
        return text
    return "\033[H" + "".join(f"{line} \033[K\n" for line in text.split("\n")) + "\033[J"


def stats(env: Env, opts: StatsOptions) -> int:
    """docker stats: every running container (every one with -a, following the daemon's
    events as they come and go) or the named ones, each sampled by its own stream; the table
    is drawn every half second, in place, until interrupted (once with --no-stream). Named
    containers that fail make the command fail before anything is printed."""
    import threading

    fmt = opts.format or env.config.get("statsFormat", "") or "table"
    if fmt == "table":
        fmt = _STATS_TABLE
    watched = _Watched(env, opts)
    named = list(opts.containers)
    if named:
        for ref in named:
            watched.add(ref)
    else:
        subscribed = threading.Event()
        if not opts.no_stream:
            threading.Thread(target=watched.follow_events, args=(subscribed,), daemon=True).start()
            subscribed.wait()
        listing = env.api.get("/containers/json", {"all": "1" if opts.all else None})
        for c in listing:
            watched.add(c["Id"][:12])
    for collector in watched.snapshot():
        collector.first.wait(_STALE)
    if named:
        errors = [c.error for c in watched.snapshot() if c.error and c.doc is None]
        if errors:
            raise CLIError("\n".join(errors))
    trunc = not opts.no_trunc
    while True:
        try:
            time.sleep(0.5)
        except KeyboardInterrupt:
            if opts.no_stream:
                raise
            # docker's ctrl-c cancels the collectors, and the next tick draws them as failed
            for collector in watched.snapshot():
                collector.error = "context canceled"
            env.out.write(_frame(env, fmt, [c.context(trunc) for c in watched.snapshot()], True))
            raise
        contexts = [c.context(trunc) for c in watched.snapshot()]
        env.out.write(_frame(env, fmt, contexts, not opts.no_stream))
        env.out.flush()
        if opts.no_stream or (named and not contexts):
            return 0
        if watched.failure:
            raise CLIError(watched.failure)
