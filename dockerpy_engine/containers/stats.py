"""`docker stats`: containerd's cgroup metrics as dockerd's StatsResponse, sampled once a second.

This module owns the stats JSON (views.py does the same for inspect): dockerd's field names,
its omitempty rules and its key order, so a sample is byte-compatible with dockerd's encoder.

    convert()         the pure mapping of a decoded Metrics message, cgroup v1 or v2, to the
                      pids/blkio/cpu/memory parts (dockerd's daemon/stats_unix.go statsV1/statsV2)
    parse_proc_stat() system_cpu_usage and online_cpus, computed as dockerd's stats collector:
                      the first 7 fields of /proc/stat's `cpu` line in clock ticks, as ns, and
                      the number of `cpuN` lines
    parse_net_dev()   networks, per interface of the container's netns (lo left out, as
                      libnetwork's sandbox statistics cover only the endpoints' interfaces)
    sample()          one reading of one container (I/O: containerd, /proc)
    samples()         the stream: dockerd's ContainerStats loop, below

What dockerd does, and so do we (checked against Debian's dockerd 20.10):
- stream=false on a container that is not running (or restarting): one empty sample at once,
  zero values but `name` and `id`;
- one-shot (API >= 1.41, only with stream=false): one sample at once, no pre* values;
- stream=false otherwise: two readings a second apart, the first only primes precpu_stats;
- stream=true: a reading per second, each carrying the previous one's cpu_stats and read time
  as precpu_stats and preread. A container that stops keeps streaming empty samples, and the
  stream ends when the container is removed (dockerd's collector drops it then) or the client
  hangs up. We also end it at daemon shutdown.
- the memory limit of an unlimited cgroup (a huge number) is reported as the host's MemTotal.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .. import errdefs

if TYPE_CHECKING:
    from .types import Container

log = logging.getLogger(__name__)

INTERVAL = 1.0  # seconds between readings, dockerd's collector interval
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time, as dockerd encodes it

V1_METRICS = "io.containerd.cgroups.v1.Metrics"
V2_METRICS = "io.containerd.cgroups.v2.Metrics"

_BLKIO_KEYS = (
    # (dockerd's JSON name, containerd's v1 field)
    ("io_service_bytes_recursive", "io_service_bytes_recursive"),
    ("io_serviced_recursive", "io_serviced_recursive"),
    ("io_queue_recursive", "io_queued_recursive"),
    ("io_service_time_recursive", "io_service_time_recursive"),
    ("io_wait_time_recursive", "io_wait_time_recursive"),
    ("io_merged_recursive", "io_merged_recursive"),
    ("io_time_recursive", "io_time_recursive"),
    ("sectors_recursive", "sectors_recursive"),
)

# memory_stats.stats on cgroup v1: dockerd's key → containerd's MemoryStat field.
_V1_MEMORY = (
    ("cache", "cache"),
    ("rss", "rss"),
    ("rss_huge", "rss_huge"),
    ("mapped_file", "mapped_file"),
    ("dirty", "dirty"),
    ("writeback", "writeback"),
    ("pgpgin", "pg_pg_in"),
    ("pgpgout", "pg_pg_out"),
    ("pgfault", "pg_fault"),
    ("pgmajfault", "pg_maj_fault"),
    ("inactive_anon", "inactive_anon"),
    ("active_anon", "active_anon"),
    ("inactive_file", "inactive_file"),
    ("active_file", "active_file"),
    ("unevictable", "unevictable"),
    ("hierarchical_memory_limit", "hierarchical_memory_limit"),
    ("hierarchical_memsw_limit", "hierarchical_swap_limit"),
    ("total_cache", "total_cache"),
    ("total_rss", "total_rss"),
    ("total_rss_huge", "total_rss_huge"),
    ("total_mapped_file", "total_mapped_file"),
    ("total_dirty", "total_dirty"),
    ("total_writeback", "total_writeback"),
    ("total_pgpgin", "total_pg_pg_in"),
    ("total_pgpgout", "total_pg_pg_out"),
    ("total_pgfault", "total_pg_fault"),
    ("total_pgmajfault", "total_pg_maj_fault"),
    ("total_inactive_anon", "total_inactive_anon"),
    ("total_active_anon", "total_active_anon"),
    ("total_inactive_file", "total_inactive_file"),
    ("total_active_file", "total_active_file"),
    ("total_unevictable", "total_unevictable"),
)

# memory_stats.stats on cgroup v2: the same names on both sides.
_V2_MEMORY = (
    "anon",
    "file",
    "kernel_stack",
    "slab",
    "sock",
    "shmem",
    "file_mapped",
    "file_dirty",
    "file_writeback",
    "anon_thp",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "slab_reclaimable",
    "slab_unreclaimable",
    "pgfault",
    "pgmajfault",
    "workingset_refault",
    "workingset_activate",
    "workingset_nodereclaim",
    "pgrefill",
    "pgscan",
    "pgsteal",
    "pgactivate",
    "pgdeactivate",
    "pglazyfree",
    "pglazyfreed",
    "thp_fault_alloc",
    "thp_collapse_alloc",
)

_NET_FIELDS = (
    # /proc/net/dev columns after the interface name → dockerd's NetworkStats, in its order
    ("rx_bytes", 0),
    ("rx_packets", 1),
    ("rx_errors", 2),
    ("rx_dropped", 3),
    ("tx_bytes", 8),
    ("tx_packets", 9),
    ("tx_errors", 10),
    ("tx_dropped", 11),
)


@dataclass(frozen=True, slots=True)
class StatsOptions:
    """GET /containers/{id}/stats: `stream` (default true) and `one-shot` (stream=false only)."""

    stream: bool = True
    one_shot: bool = False


class _MetricsSource(Protocol):
    async def metrics_dict(self, container_id: str) -> tuple[str, dict[str, Any]]: ...


class StatsBackend(Protocol):
    """What the sampling needs from the container service."""

    @property
    def runtime(self) -> _MetricsSource: ...

    @property
    def closing(self) -> asyncio.Event: ...

    def get(self, ref: str) -> Container: ...


# --------------------------------------------------------------------------- pure conversion


def rfc3339_nano(ns: int) -> str:
    """A UNIX time in ns as Go's RFC3339Nano in UTC: trailing zeros of the fraction dropped."""
    seconds, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    fraction = f"{frac:09d}".rstrip("0")
    return f"{base}.{fraction}Z" if fraction else base + "Z"


def empty_cpu_stats() -> dict[str, Any]:
    """CPUStats with nothing read: the zero counters dockerd's encoder still writes."""
    return {
        "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    }


def empty_stats(name: str, container_id: str) -> dict[str, Any]:
    """dockerd's sample of a container that is not running: zero values, its name and ID."""
    return {
        "read": ZERO_TIME,
        "preread": ZERO_TIME,
        "pids_stats": {},
        "blkio_stats": {key: None for key, _ in _BLKIO_KEYS},
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": empty_cpu_stats(),
        "precpu_stats": empty_cpu_stats(),
        "memory_stats": {},
        "name": name,
        "id": container_id,
    }


def _nonzero(pairs: Mapping[str, Any]) -> dict[str, Any]:
    """Go's omitempty for numbers: zero values are left out."""
    return {k: v for k, v in pairs.items() if v}


def _sorted(d: Mapping[str, Any]) -> dict[str, Any]:
    """Go's encoder writes a map's keys sorted (memory_stats.stats, networks)."""
    return {k: d[k] for k in sorted(d)}


def _int(d: Mapping[str, Any] | None, key: str) -> int:
    if not d:
        return 0
    return int(d.get(key) or 0)


def _cpu_stats(
    total: int, percpu: list[int] | None, kernel: int, user: int, throttling: dict[str, int]
) -> dict[str, Any]:
    usage: dict[str, Any] = {"total_usage": total}
    if percpu:
        usage["percpu_usage"] = percpu
    usage.update(usage_in_kernelmode=kernel, usage_in_usermode=user)
    return {"cpu_usage": usage, "throttling_data": throttling}


def _memory_limit(limit: int, machine_memory: int) -> int:
    """An unlimited cgroup's limit is a huge number; dockerd shows the host's memory then."""
    if machine_memory > 0 and limit > machine_memory:
        return machine_memory
    return limit


def _pids(m: Mapping[str, Any]) -> dict[str, Any]:
    pids = m.get("pids")
    if pids is None:
        return {}
    return _nonzero({"current": _int(pids, "current"), "limit": _int(pids, "limit")})


def convert_v1(m: Mapping[str, Any], machine_memory: int) -> dict[str, Any]:
    """cgroup v1 Metrics (decoded, proto field names) → pids/blkio/cpu/memory stats."""
    out: dict[str, Any] = {"pids_stats": _pids(m)}
    blkio = m.get("blkio")
    if blkio is None:
        out["blkio_stats"] = {key: None for key, _ in _BLKIO_KEYS}
    else:
        out["blkio_stats"] = {
            key: [_blkio_entry(e) for e in blkio.get(field) or []] for key, field in _BLKIO_KEYS
        }
    cpu = m.get("cpu")
    if cpu is None:
        out["cpu_stats"] = empty_cpu_stats()
    else:
        usage = cpu.get("usage") or {}
        throttle = cpu.get("throttling") or {}
        out["cpu_stats"] = _cpu_stats(
            _int(usage, "total"),
            [int(v) for v in usage.get("per_cpu") or []],
            _int(usage, "kernel"),
            _int(usage, "user"),
            {
                "periods": _int(throttle, "periods"),
                "throttled_periods": _int(throttle, "throttled_periods"),
                "throttled_time": _int(throttle, "throttled_time"),
            },
        )
    memory = m.get("memory")
    if memory is None:
        out["memory_stats"] = {}
    else:
        raw = _sorted({key: _int(memory, field) for key, field in _V1_MEMORY})
        entry = memory.get("usage")
        if entry is None:
            out["memory_stats"] = {"stats": raw}
        else:
            out["memory_stats"] = _nonzero(
                {
                    "usage": _int(entry, "usage"),
                    "max_usage": _int(entry, "max"),
                    "stats": raw,
                    "failcnt": _int(entry, "failcnt"),
                    "limit": _memory_limit(_int(entry, "limit"), machine_memory),
                }
            )
    return out


def _blkio_entry(e: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "major": _int(e, "major"),
        "minor": _int(e, "minor"),
        "op": e.get("op") or "",
        "value": _int(e, "value"),
    }


def convert_v2(m: Mapping[str, Any], machine_memory: int) -> dict[str, Any]:
    """cgroup v2 Metrics → the same parts; µs become ns, v1-only fields stay unset (null)."""
    out: dict[str, Any] = {"pids_stats": _pids(m)}
    blkio: dict[str, Any] = {key: None for key, _ in _BLKIO_KEYS}
    io = m.get("io")
    if io is not None:
        entries = []
        for e in io.get("usage") or []:
            for op, field in (("read", "rbytes"), ("write", "wbytes")):
                entries.append(
                    {
                        "major": _int(e, "major"),
                        "minor": _int(e, "minor"),
                        "op": op,
                        "value": _int(e, field),
                    }
                )
        blkio["io_service_bytes_recursive"] = entries or None
    out["blkio_stats"] = blkio
    cpu = m.get("cpu")
    if cpu is None:
        out["cpu_stats"] = empty_cpu_stats()
    else:
        out["cpu_stats"] = _cpu_stats(
            _int(cpu, "usage_usec") * 1000,
            None,  # no per-CPU usage on v2
            _int(cpu, "system_usec") * 1000,
            _int(cpu, "user_usec") * 1000,
            {
                "periods": _int(cpu, "nr_periods"),
                "throttled_periods": _int(cpu, "nr_throttled"),
                "throttled_time": _int(cpu, "throttled_usec") * 1000,
            },
        )
    memory = m.get("memory")
    if memory is None:
        out["memory_stats"] = {}
    else:
        events = m.get("memory_events")
        out["memory_stats"] = _nonzero(
            {
                "usage": _int(memory, "usage"),
                "stats": _sorted({key: _int(memory, key) for key in _V2_MEMORY}),
                # memory.events' oom count stands in for v1's failcnt
                "failcnt": _int(events, "oom") if events is not None else 0,
                "limit": _memory_limit(_int(memory, "usage_limit"), machine_memory),
            }
        )
    return out


def convert(type_url: str, metrics: Mapping[str, Any], machine_memory: int) -> dict[str, Any]:
    """Dispatch on the Any's type; anything else is dockerd's "unexpected type of metrics"."""
    kind = type_url.rsplit("/", 1)[-1]
    if kind == V1_METRICS:
        return convert_v1(metrics, machine_memory)
    if kind == V2_METRICS:
        return convert_v2(metrics, machine_memory)
    raise errdefs.System(f"unexpected type of metrics {type_url}")


def stats_json(
    c_name: str,
    c_id: str,
    read_ns: int,
    parts: Mapping[str, Any],
    system_cpu_usage: int,
    online_cpus: int,
    networks: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """One sample in dockerd's key order; pre* are filled in by with_previous()."""
    cpu = parts["cpu_stats"]
    cpu_stats: dict[str, Any] = {"cpu_usage": cpu["cpu_usage"]}
    cpu_stats.update(_nonzero({"system_cpu_usage": system_cpu_usage, "online_cpus": online_cpus}))
    cpu_stats["throttling_data"] = cpu["throttling_data"]
    sample = {
        "read": rfc3339_nano(read_ns),
        "preread": ZERO_TIME,
        "pids_stats": parts["pids_stats"],
        "blkio_stats": parts["blkio_stats"],
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu_stats,
        "precpu_stats": empty_cpu_stats(),
        "memory_stats": parts["memory_stats"],
        "name": c_name,
        "id": c_id,
    }
    if networks:
        sample["networks"] = _sorted(networks)
    return sample


def with_previous(sample: dict[str, Any], previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """The sample with the previous reading's cpu_stats and time as precpu_stats/preread."""
    out = dict(sample)
    if previous is not None:
        out["preread"] = previous["read"]
        out["precpu_stats"] = previous["cpu_stats"]
    return out


def parse_proc_stat(text: str, clock_ticks: int) -> tuple[int, int]:
    """(system_cpu_usage in ns, online CPUs) from /proc/stat, as dockerd's collector."""
    usage = 0
    cpus = 0
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "cpu":
            if len(parts) < 8:
                raise errdefs.System("invalid number of cpu fields")
            ticks = sum(int(v) for v in parts[1:8])
            usage = ticks * 1_000_000_000 // clock_ticks
        elif parts[0].startswith("cpu"):
            cpus += 1
    return usage, cpus


def parse_meminfo(text: str) -> int:
    """MemTotal from /proc/meminfo, in bytes (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            fields = line.split()
            value = int(fields[1])
            return value * 1024 if len(fields) > 2 and fields[2].lower() == "kb" else value
    return 0


def parse_net_dev(text: str) -> dict[str, dict[str, int]]:
    """Per-interface counters from /proc/<pid>/net/dev, loopback left out."""
    result: dict[str, dict[str, int]] = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        name = name.strip()
        if not sep or not name or name == "lo":
            continue
        values = rest.split()
        if len(values) < 16:
            continue
        result[name] = {key: int(values[index]) for key, index in _NET_FIELDS}
    return result


# --------------------------------------------------------------------------- host readings


@functools.cache
def machine_memory() -> int:
    """The host's memory (bytes), read once: dockerd's machineMemory."""
    try:
        with open("/proc/meminfo") as f:
            return parse_meminfo(f.read())
    except OSError:
        return 0


@functools.cache
def _clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def system_cpu() -> tuple[int, int]:
    """(system_cpu_usage, online_cpus) now. /proc reads do not block: no thread needed."""
    with open("/proc/stat") as f:
        return parse_proc_stat(f.read(), _clock_ticks())


def networks_of(pid: int) -> dict[str, dict[str, int]] | None:
    """The interfaces of a process's network namespace; None when it shares ours (host)."""
    if pid <= 0:
        return None
    try:
        if os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat("/proc/self/ns/net").st_ino:
            return None
        with open(f"/proc/{pid}/net/dev") as f:
            return parse_net_dev(f.read()) or None
    except OSError:
        return None


# --------------------------------------------------------------------------- sampling


def _is_running(c: Container) -> bool:
    """A task to read: paused counts (its cgroup is there), restarting does not, as dockerd."""
    return c.state.status in ("running", "paused")


async def sample(svc: StatsBackend, c: Container) -> dict[str, Any]:
    """One reading of a container; an empty sample when it has no task to read."""
    if not _is_running(c):
        return empty_stats(c.name, c.id)
    try:
        type_url, metrics = await svc.runtime.metrics_dict(c.id)
        read_ns = time.time_ns()
        parts = convert(type_url, metrics, machine_memory())
        system_usage, online_cpus = system_cpu()
    except errdefs.NotFound:
        return empty_stats(c.name, c.id)  # the task ended under us
    except (errdefs.EngineError, OSError, ValueError) as exc:
        log.warning("collecting stats for %s: %s", c.id[:12], exc)
        return empty_stats(c.name, c.id)
    networks = networks_of(c.state.pid)
    return stats_json(c.name, c.id, read_ns, parts, system_usage, online_cpus, networks)


async def samples(
    svc: StatsBackend, c: Container, opts: StatsOptions, interval: float | None = None
) -> AsyncGenerator[dict[str, Any]]:
    """The samples of one GET /stats call; resolve `c` first, so a 404 comes before headers."""
    interval = INTERVAL if interval is None else interval
    if not opts.stream and not _is_running(c):
        yield empty_stats(c.name, c.id)
        return
    if opts.one_shot:
        yield await sample(svc, c)
        return
    previous: dict[str, Any] | None = None
    while not svc.closing.is_set():
        try:
            c = svc.get(c.id)  # renamed since? removed: the stream ends, as dockerd's does
        except errdefs.NotFound:
            return
        current = await sample(svc, c)
        if opts.stream or previous is not None:
            yield with_previous(current, previous)
            if not opts.stream:
                return
        previous = current
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(svc.closing.wait(), interval)
