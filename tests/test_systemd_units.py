"""contrib/systemd: the units pass `systemd-analyze verify` and say what dockerpyd needs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
UNITS = REPO / "contrib" / "systemd"
INSTALLED = "/usr/local/bin/dockerpyd"


def directives(path: Path) -> dict[str, list[str]]:
    """`Key=value` lines by key (systemd allows a key more than once)."""
    found: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_systemd_analyze_verify_finds_nothing(tmp_path):
    """Verified as shipped, except that ExecStart points at this checkout's dockerpyd (verify
    insists the binary exists; the units name where an installation puts it)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze missing: hack/install installs Debian's systemd package")
    dockerpyd = REPO / ".venv" / "bin" / "dockerpyd"
    service = (UNITS / "dockerpyd.service").read_text()
    assert INSTALLED in service
    (tmp_path / "dockerpyd.service").write_text(service.replace(INSTALLED, str(dockerpyd)))
    shutil.copy(UNITS / "dockerpyd.socket", tmp_path / "dockerpyd.socket")

    result = subprocess.run(
        [
            analyze,
            "verify",
            str(tmp_path / "dockerpyd.service"),
            str(tmp_path / "dockerpyd.socket"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )

    # verify exits 0 on some problems (an unknown Type=, say) and only prints them
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_service_is_dockerds_kind_of_service():
    found = directives(UNITS / "dockerpyd.service")

    assert found["Type"] == ["notify"]
    assert found["ExecStart"] == [f"{INSTALLED} -H fd://"]
    assert found["ExecReload"] == ["/bin/kill -s HUP $MAINPID"]
    assert found["Delegate"] == ["yes"]
    assert found["KillMode"] == ["process"]
    assert found["Requires"] == ["dockerpyd.socket"]


def test_the_socket_is_the_docker_socket_with_its_mode_and_group():
    found = directives(UNITS / "dockerpyd.socket")

    assert found["ListenStream"] == ["/run/docker.sock"]
    assert (found["SocketMode"], found["SocketGroup"]) == (["0660"], ["docker"])
