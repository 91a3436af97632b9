"""containers/stats.py: containerd metrics → dockerd's StatsResponse, host readings, the loop."""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.containers import stats
from dockerpy_engine.containers.types import Container, State

GiB = 1 << 30
MACHINE = 24 * GiB
UNLIMITED = 9223372036854771712  # what cgroup v1 reports for no limit

# A real io.containerd.cgroups.v1.Metrics from containerd 1.6 (busybox `sleep`), decoded by
# runtime.decode_any: proto field names, defaults included, unset messages absent.
V1: dict[str, Any] = {
    "pids": {"current": 1, "limit": 0},
    "cpu": {
        "usage": {"total": 29066690, "kernel": 10000000, "per_cpu": [21851004, 7215686], "user": 0},
        "throttling": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    },
    "memory": {
        "cache": 4096, "rss": 49152, "dirty": 4096, "pg_pg_in": 860, "pg_pg_out": 847,
        "pg_fault": 1170, "inactive_anon": 45056, "active_anon": 4096, "active_file": 4096,
        "hierarchical_memory_limit": UNLIMITED, "hierarchical_swap_limit": UNLIMITED,
        "total_cache": 4096, "total_rss": 49152, "total_dirty": 4096, "total_pg_pg_in": 860,
        "total_pg_pg_out": 847, "total_pg_fault": 1170, "total_inactive_anon": 45056,
        "total_active_anon": 4096, "total_active_file": 4096,
        "usage": {"limit": UNLIMITED, "usage": 724992, "max": 4087808, "failcnt": 0},
        "swap": {"limit": UNLIMITED, "usage": 724992, "max": 4087808, "failcnt": 0},
        "kernel": {"limit": UNLIMITED, "usage": 315392, "max": 602112, "failcnt": 0},
        "kernel_tcp": {"limit": UNLIMITED, "usage": 0, "max": 0, "failcnt": 0},
        "rss_huge": 0, "mapped_file": 0, "writeback": 0, "pg_maj_fault": 0, "inactive_file": 0,
        "unevictable": 0, "total_rss_huge": 0, "total_mapped_file": 0, "total_writeback": 0,
        "total_pg_maj_fault": 0, "total_inactive_file": 0, "total_unevictable": 0,
    },
    "blkio": {
        "io_service_bytes_recursive": [], "io_serviced_recursive": [], "io_queued_recursive": [],
        "io_service_time_recursive": [], "io_wait_time_recursive": [],
        "io_merged_recursive": [], "io_time_recursive": [], "sectors_recursive": [],
    },
    "memory_oom_control": {"oom_kill_disable": 0, "under_oom": 0, "oom_kill": 0},
    "hugetlb": [],
    "network": [],
}  # fmt: skip

V2: dict[str, Any] = {
    "pids": {"current": 3, "limit": 100},
    "cpu": {
        "usage_usec": 1500, "user_usec": 1000, "system_usec": 500,
        "nr_periods": 7, "nr_throttled": 2, "throttled_usec": 30,
    },
    "memory": {
        **{key: 0 for key in stats._V2_MEMORY},
        "anon": 1572864, "file": 7626752, "inactive_file": 2510848, "pgfault": 2042,
        "usage": 10485760, "usage_limit": 67108864, "swap_usage": 0, "swap_limit": 0,
    },
    "io": {
        "usage": [
            {"major": 254, "minor": 0, "rbytes": 7593984, "wbytes": 100, "rios": 3, "wios": 1}
        ]
    },
    "memory_events": {"low": 0, "high": 0, "max": 4, "oom": 1, "oom_kill": 1},
    "hugetlb": [],
}  # fmt: skip

# Debian's dockerd 20.10 for a created container (GET /containers/c3/stats?stream=false).
DOCKERD_EMPTY = (
    b'{"read":"0001-01-01T00:00:00Z","preread":"0001-01-01T00:00:00Z","pids_stats":{},'
    b'"blkio_stats":{"io_service_bytes_recursive":null,"io_serviced_recursive":null,'
    b'"io_queue_recursive":null,"io_service_time_recursive":null,"io_wait_time_recursive":null,'
    b'"io_merged_recursive":null,"io_time_recursive":null,"sectors_recursive":null},'
    b'"num_procs":0,"storage_stats":{},"cpu_stats":{"cpu_usage":{"total_usage":0,'
    b'"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,'
    b'"throttled_periods":0,"throttled_time":0}},"precpu_stats":{"cpu_usage":{"total_usage":0,'
    b'"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,'
    b'"throttled_periods":0,"throttled_time":0}},"memory_stats":{},"name":"/c3",'
    b'"id":"26f71a62d9a2704e667e37b9bc5532e24d93af50c7c455cf1be52b3cae57d095"}'
)

TOP_KEYS = [
    "read", "preread", "pids_stats", "blkio_stats", "num_procs", "storage_stats", "cpu_stats",
    "precpu_stats", "memory_stats", "name", "id",
]  # fmt: skip


def test_empty_stats_is_dockerds_bytes():
    cid = "26f71a62d9a2704e667e37b9bc5532e24d93af50c7c455cf1be52b3cae57d095"
    assert orjson.dumps(stats.empty_stats("/c3", cid)) == DOCKERD_EMPTY


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (1_795_000_000_000_000_000, "2026-11-18T11:06:40Z"),
        (1_795_000_000_412_858_186, "2026-11-18T11:06:40.412858186Z"),
        (1_795_000_000_032_477_050, "2026-11-18T11:06:40.03247705Z"),
        (1_795_000_000_100_000_000, "2026-11-18T11:06:40.1Z"),
    ],
)
def test_rfc3339_nano_trims_like_go(ns, text):
    assert stats.rfc3339_nano(ns) == text


def test_v1_conversion():
    parts = stats.convert(stats.V1_METRICS, V1, MACHINE)
    assert parts["pids_stats"] == {"current": 1}  # a zero limit is left out
    assert parts["blkio_stats"] == {key: [] for key, _ in stats._BLKIO_KEYS}
    assert parts["cpu_stats"] == {
        "cpu_usage": {
            "total_usage": 29066690,
            "percpu_usage": [21851004, 7215686],
            "usage_in_kernelmode": 10000000,
            "usage_in_usermode": 0,
        },
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    }
    memory = parts["memory_stats"]
    assert list(memory) == ["usage", "max_usage", "stats", "limit"]  # failcnt 0 left out
    assert memory["usage"] == 724992 and memory["max_usage"] == 4087808
    assert memory["limit"] == MACHINE  # unlimited → the host's memory, as dockerd
    raw = memory["stats"]
    assert list(raw) == sorted(raw) and len(raw) == 32
    assert raw["total_inactive_file"] == 0 and raw["cache"] == 4096
    assert raw["pgpgin"] == 860 and raw["total_pgfault"] == 1170
    assert raw["hierarchical_memsw_limit"] == UNLIMITED


def test_v1_limit_and_failcnt_and_blkio_entries():
    m = copy.deepcopy(V1)
    m["memory"]["usage"].update(limit=64 << 20, failcnt=3)
    m["pids"]["limit"] = 50
    entry = {"op": "Read", "device": "", "major": 8, "minor": 0, "value": 4096}
    m["blkio"]["io_service_bytes_recursive"] = [entry, {**entry, "op": "Write", "value": 512}]
    m["blkio"]["io_queued_recursive"] = [{**entry, "op": "Total", "value": 1}]
    parts = stats.convert_v1(m, MACHINE)
    assert parts["memory_stats"]["limit"] == 64 << 20
    assert parts["memory_stats"]["failcnt"] == 3
    assert parts["pids_stats"] == {"current": 1, "limit": 50}
    blkio = parts["blkio_stats"]
    assert blkio["io_service_bytes_recursive"] == [
        {"major": 8, "minor": 0, "op": "Read", "value": 4096},
        {"major": 8, "minor": 0, "op": "Write", "value": 512},
    ]
    assert blkio["io_queue_recursive"] == [{"major": 8, "minor": 0, "op": "Total", "value": 1}]


def test_v1_with_unset_messages():
    parts = stats.convert_v1({"hugetlb": [], "network": []}, MACHINE)
    assert parts["pids_stats"] == {}
    assert parts["blkio_stats"] == {key: None for key, _ in stats._BLKIO_KEYS}
    assert parts["cpu_stats"] == stats.empty_cpu_stats()
    assert parts["memory_stats"] == {}
    no_usage = stats.convert_v1({"memory": {"cache": 1}}, MACHINE)
    assert list(no_usage["memory_stats"]) == ["stats"]


def test_v2_conversion():
    parts = stats.convert("types.example/" + stats.V2_METRICS, V2, MACHINE)
    assert parts["pids_stats"] == {"current": 3, "limit": 100}
    assert parts["cpu_stats"] == {
        "cpu_usage": {
            "total_usage": 1500000,
            "usage_in_kernelmode": 500000,
            "usage_in_usermode": 1000000,
        },
        "throttling_data": {"periods": 7, "throttled_periods": 2, "throttled_time": 30000},
    }
    blkio = parts["blkio_stats"]
    assert blkio["io_service_bytes_recursive"] == [
        {"major": 254, "minor": 0, "op": "read", "value": 7593984},
        {"major": 254, "minor": 0, "op": "write", "value": 100},
    ]
    assert all(v is None for k, v in blkio.items() if k != "io_service_bytes_recursive")
    memory = parts["memory_stats"]
    assert list(memory) == ["usage", "stats", "failcnt", "limit"]  # no max_usage on v2
    assert memory["usage"] == 10485760 and memory["limit"] == 67108864
    assert memory["failcnt"] == 1  # memory.events' oom
    assert list(memory["stats"]) == sorted(stats._V2_MEMORY)
    assert memory["stats"]["inactive_file"] == 2510848


def test_v2_unlimited_and_idle():
    m = copy.deepcopy(V2)
    m["memory"]["usage_limit"] = (1 << 64) - 1  # "max"
    m["io"] = {"usage": []}
    del m["memory_events"]
    parts = stats.convert_v2(m, MACHINE)
    assert parts["memory_stats"]["limit"] == MACHINE
    assert "failcnt" not in parts["memory_stats"]
    assert parts["blkio_stats"]["io_service_bytes_recursive"] is None


def test_unknown_metrics_type():
    with pytest.raises(errdefs.System, match="unexpected type of metrics"):
        stats.convert("io.containerd.cgroups.v3.Metrics", {}, MACHINE)


PROC_STAT = """\
cpu  1000 20 300 50000 40 0 10 7 0 0
cpu0 500 10 150 25000 20 0 5 3 0 0
cpu1 500 10 150 25000 20 0 5 4 0 0
intr 123 0 0
ctxt 456
"""


def test_proc_stat_in_nanoseconds_and_online_cpus():
    usage, cpus = stats.parse_proc_stat(PROC_STAT, 100)
    # user..softirq (7 fields) in ticks of 1/100 s, steal and guest left out as dockerd does
    assert usage == (1000 + 20 + 300 + 50000 + 40 + 0 + 10) * 10_000_000
    assert cpus == 2


def test_proc_stat_short_cpu_line():
    with pytest.raises(errdefs.System, match="invalid number of cpu fields"):
        stats.parse_proc_stat("cpu 1 2 3\n", 100)


def test_meminfo():
    assert stats.parse_meminfo("MemFree: 1 kB\nMemTotal:       24684084 kB\n") == 24684084 * 1024
    assert stats.parse_meminfo("nothing\n") == 0


NET_DEV = """\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0
  eth0:    1182      13    1    2    0     0          0         0      648       8    3    4    0     0       0          0
"""  # noqa: E501


def test_net_dev_without_loopback():
    assert stats.parse_net_dev(NET_DEV) == {
        "eth0": {
            "rx_bytes": 1182, "rx_packets": 13, "rx_errors": 1, "rx_dropped": 2,
            "tx_bytes": 648, "tx_packets": 8, "tx_errors": 3, "tx_dropped": 4,
        }
    }  # fmt: skip
    assert stats.parse_net_dev(NET_DEV.rsplit("\n", 2)[0]) == {}


def _sample(total: int, system: int, read_ns: int, networks=None) -> dict[str, Any]:
    m = copy.deepcopy(V1)
    m["cpu"]["usage"]["total"] = total
    parts = stats.convert_v1(m, MACHINE)
    return stats.stats_json("/web", "c" * 64, read_ns, parts, system, 2, networks)


def test_sample_key_order_and_networks():
    s = _sample(1, 2, 3)
    assert list(s) == TOP_KEYS
    assert list(s["cpu_stats"]) == [
        "cpu_usage",
        "system_cpu_usage",
        "online_cpus",
        "throttling_data",
    ]
    assert s["preread"] == stats.ZERO_TIME and s["precpu_stats"] == stats.empty_cpu_stats()
    nets = {"eth1": {"rx_bytes": 1}, "eth0": {"rx_bytes": 2}}
    with_nets = _sample(1, 2, 3, nets)
    assert list(with_nets) == [*TOP_KEYS, "networks"]
    assert list(with_nets["networks"]) == ["eth0", "eth1"]


def cli_cpu_percent(s: dict[str, Any]) -> float:
    """The docker CLI's CPU % on Linux (calculateCPUPercentUnix)."""
    pre, cur = s["precpu_stats"], s["cpu_stats"]
    cpu_delta = cur["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"]
    system_delta = cur.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    cpus = cur.get("online_cpus") or len(cur["cpu_usage"].get("percpu_usage") or [])
    if system_delta > 0 and cpu_delta > 0:
        return cpu_delta / system_delta * cpus * 100.0
    return 0.0


def test_precpu_gives_the_cli_its_cpu_percentage():
    # one second on a 2-CPU host: the system advances 2 s of CPU time, the container used 0.5 s
    first = _sample(1_000_000_000, 100_000_000_000, 1_000_000_000)
    second = _sample(1_500_000_000, 102_000_000_000, 2_000_000_000)
    shown = stats.with_previous(second, first)
    assert shown["preread"] == first["read"]
    assert shown["precpu_stats"]["system_cpu_usage"] == 100_000_000_000
    assert cli_cpu_percent(shown) == pytest.approx(50.0)
    assert cli_cpu_percent(stats.with_previous(first, None)) > 0  # no baseline: since start
    assert second["preread"] == stats.ZERO_TIME  # with_previous copies


# ---------------------------------------------------------------------------- the loop


class FakeRuntime:
    def __init__(self) -> None:
        self.calls = 0
        self.error: errdefs.EngineError | None = None

    async def metrics_dict(self, container_id: str) -> tuple[str, dict[str, Any]]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        m = copy.deepcopy(V1)
        m["cpu"]["usage"]["total"] = self.calls * 1000
        return "io.containerd.cgroups.v1.Metrics", m


@dataclass
class FakeService:
    container: Container
    runtime: FakeRuntime = field(default_factory=FakeRuntime)
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    removed: bool = False

    def get(self, ref: str) -> Container:
        if self.removed:
            raise errdefs.NoSuchContainer(ref)
        return self.container


def _container(status: str = "running") -> Container:
    return Container(
        id="c" * 64,
        name="/web",
        created="",
        image_id="",
        path="sleep",
        args=[],
        config={},
        host_config={},
        state=State(status=status, pid=0),
    )


async def _collect(svc, opts, limit: int = 10) -> list[dict[str, Any]]:
    out = []
    gen = stats.samples(svc, svc.container, opts, interval=0)
    async for s in gen:
        out.append(s)
        if len(out) >= limit:
            await gen.aclose()
    return out


async def test_not_running_without_stream_is_one_empty_sample():
    svc = FakeService(_container("exited"))
    out = await _collect(svc, stats.StatsOptions(stream=False))
    assert out == [stats.empty_stats("/web", "c" * 64)]
    assert svc.runtime.calls == 0


async def test_one_shot_reads_once_without_pre():
    svc = FakeService(_container())
    out = await _collect(svc, stats.StatsOptions(stream=False, one_shot=True))
    assert len(out) == 1 and svc.runtime.calls == 1
    assert out[0]["preread"] == stats.ZERO_TIME
    assert out[0]["precpu_stats"] == stats.empty_cpu_stats()
    assert out[0]["cpu_stats"]["cpu_usage"]["total_usage"] == 1000
    assert out[0]["cpu_stats"]["online_cpus"] >= 1
    assert out[0]["memory_stats"]["limit"] <= stats.machine_memory()


async def test_no_stream_primes_precpu_with_a_first_reading():
    svc = FakeService(_container())
    out = await _collect(svc, stats.StatsOptions(stream=False))
    assert len(out) == 1 and svc.runtime.calls == 2
    assert out[0]["cpu_stats"]["cpu_usage"]["total_usage"] == 2000
    assert out[0]["precpu_stats"]["cpu_usage"]["total_usage"] == 1000
    assert out[0]["preread"] != stats.ZERO_TIME


async def test_stream_chains_previous_readings():
    svc = FakeService(_container())
    out = await _collect(svc, stats.StatsOptions(), limit=3)
    totals = [
        (s["precpu_stats"]["cpu_usage"]["total_usage"], s["cpu_stats"]["cpu_usage"]["total_usage"])
        for s in out
    ]
    assert totals == [(0, 1000), (1000, 2000), (2000, 3000)]
    assert out[1]["preread"] == out[0]["read"]


async def test_stream_of_a_stopped_container_goes_on_empty_until_removed():
    svc = FakeService(_container())
    gen = stats.samples(svc, svc.container, stats.StatsOptions(), interval=0)
    first = await anext(gen)
    svc.container.state = State(status="exited")
    after_exit = await anext(gen)
    assert after_exit["read"] == stats.ZERO_TIME and after_exit["name"] == "/web"
    assert after_exit["preread"] == first["read"]  # dockerd carries the last reading over
    assert after_exit["precpu_stats"] == first["cpu_stats"]
    assert (await anext(gen))["preread"] == stats.ZERO_TIME
    svc.removed = True
    with pytest.raises(StopAsyncIteration):
        await anext(gen)


async def test_stream_ends_at_shutdown():
    svc = FakeService(_container())
    gen = stats.samples(svc, svc.container, stats.StatsOptions(), interval=30)
    await anext(gen)
    svc.closing.set()
    async with asyncio.timeout(5):
        with pytest.raises(StopAsyncIteration):
            await anext(gen)


@pytest.mark.parametrize(
    "error", [errdefs.NotFound("no metrics for task"), errdefs.Unavailable("containerd down")]
)
async def test_a_failed_reading_is_an_empty_sample(error):
    svc = FakeService(_container())
    svc.runtime.error = error
    out = await _collect(svc, stats.StatsOptions(stream=False, one_shot=True))
    assert out == [stats.empty_stats("/web", "c" * 64)]
