"""hostwarnings.py: docker info's limit fields and Warnings in dockerd's words and order."""

from __future__ import annotations

from dockerpy_engine.containers.hostenv import CgroupSupport
from dockerpy_engine.hostwarnings import ipv4_forwarding, limits, warnings


def test_everything_supported_means_no_warnings() -> None:
    assert warnings(CgroupSupport(), "1", True) == []
    assert warnings(CgroupSupport(oom_kill_disable=False), "2", True) == []


def test_cgroup_v2_without_io_controller() -> None:
    support = CgroupSupport(
        blkio_weight=False, blkio_weight_device=False, blkio_throttle=False, unified=True
    )
    assert warnings(support, "2", True) == [
        "WARNING: No io.weight support",
        "WARNING: No io.weight (per device) support",
        "WARNING: No io.max (rbps) support",
        "WARNING: No io.max (wbps) support",
        "WARNING: No io.max (riops) support",
        "WARNING: No io.max (wiops) support",
    ]


def test_cgroup_v1_gaps_and_forwarding() -> None:
    support = CgroupSupport(
        swap=False, oom_kill_disable=False, blkio_weight=False, blkio_throttle=False
    )
    assert warnings(support, "1", False) == [
        "WARNING: No swap limit support",
        "WARNING: No oom kill disable support",
        "WARNING: No blkio throttle.read_bps_device support",
        "WARNING: No blkio throttle.write_bps_device support",
        "WARNING: No blkio throttle.read_iops_device support",
        "WARNING: No blkio throttle.write_iops_device support",
        "WARNING: IPv4 forwarding is disabled",
    ]
    out = limits(CgroupSupport(swap=False, cpu_cfs=False), "2")
    assert out["SwapLimit"] is False and out["CpuCfsQuota"] is out["CpuCfsPeriod"] is False
    assert out["OomKillDisable"] is False and out["MemoryLimit"] is True


def test_ipv4_forwarding(tmp_path) -> None:
    f = tmp_path / "ip_forward"
    f.write_text("1\n")
    assert ipv4_forwarding(str(f)) is True
    f.write_text("0\n")
    assert ipv4_forwarding(str(f)) is False
    assert ipv4_forwarding(str(tmp_path / "missing")) is False
