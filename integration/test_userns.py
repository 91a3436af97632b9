"""--userns-remap end to end: daemons whose containers run in a user namespace mapped onto
subordinate ids, driven with the real docker CLI.

Two daemons: one with `default` (it makes the `dockremap` user and its ranges when missing) in a
private network namespace, so its containers get a bridge; one with an explicit user of the
test's own that has two ranges in /etc/subuid and /etc/subgid. The accounts the tests add are
removed afterwards and the account files are left as they were found.
"""

from __future__ import annotations

import io
import json
import os
import pwd
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import IMAGE, ok, out
from .daemon import DOCKERPYD, Daemon

ACCOUNT_FILES = ("passwd", "group", "shadow", "gshadow", "subuid", "subgid")
TEST_USER = "dpyns-test"
# two ranges, so the maps have two lines: container 0-999 and 1000-66535
TEST_RANGES = ((300000, 1000), (400000, 65536))


def _snapshot() -> dict[str, bytes]:
    return {name: Path("/etc", name).read_bytes() for name in ACCOUNT_FILES}


def _drop_account(name: str) -> None:
    """userdel (group and subordinate ids with it), then whatever it left."""
    subprocess.run(["userdel", name], capture_output=True, check=False)
    subprocess.run(["groupdel", name], capture_output=True, check=False)
    for sub in ("subuid", "subgid"):
        path = Path("/etc", sub)
        lines = path.read_text().splitlines(keepends=True)
        kept = [line for line in lines if not line.startswith(f"{name}:")]
        if kept != lines:
            path.write_text("".join(kept))


@pytest.fixture(scope="module")
def accounts() -> Iterator[list[str]]:
    """The names of accounts the tests add; removed after, and the six account files checked
    (and put back) against what they held before."""
    before = _snapshot()
    added: list[str] = []
    try:
        yield added
    finally:
        for name in added:
            _drop_account(name)
        after = _snapshot()
        changed = [name for name in ACCOUNT_FILES if after[name] != before[name]]
        for name in changed:
            Path("/etc", name).write_bytes(before[name])
        assert not changed, f"account files left changed: {changed}"


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _ranges(name: str, sub: str) -> list[tuple[int, int]]:
    uid = str(pwd.getpwnam(name).pw_uid)
    found = []
    for line in Path("/etc", sub).read_text().splitlines():
        owner, _, rest = line.partition(":")
        if owner in (name, uid):
            start, _, count = rest.partition(":")
            found.append((int(start), int(count)))
    return found


def _traversable_base(d: Daemon) -> Daemon:
    os.chmod(d.base, 0o711)  # mkdtemp's 0700 would stop the remapped root (a start error)
    return d


@pytest.fixture(scope="module")
def remapped(netns: str, busybox_tar: str, accounts: list[str]) -> Iterator[Daemon]:
    """`--userns-remap=default`, in a private network namespace."""
    if not _user_exists("dockremap"):
        accounts.append("dockremap")
    d = _traversable_base(Daemon())
    d.start("--userns-remap=default", netns=netns)
    try:
        ok(d.cli("import", busybox_tar, IMAGE))
        yield d
    finally:
        d.cleanup()


@pytest.fixture(scope="module")
def explicit(busybox_tar: str, accounts: list[str]) -> Iterator[Daemon]:
    """`--userns-remap=<user>:<group>` for a user of the test's with two ranges."""
    if not _user_exists(TEST_USER):
        accounts.append(TEST_USER)
        subprocess.run(["useradd", "-r", "-s", "/bin/false", TEST_USER], check=True)
        for start, count in TEST_RANGES:
            span = f"{start}-{start + count - 1}"
            subprocess.run(["usermod", "-v", span, "-w", span, TEST_USER], check=True)
    d = _traversable_base(Daemon())
    d.start(f"--userns-remap={TEST_USER}:{TEST_USER}")
    try:
        ok(d.cli("import", busybox_tar, IMAGE))
        yield d
    finally:
        d.cleanup()


def _root_pair(name: str) -> tuple[int, int]:
    return _ranges(name, "subuid")[0][0], _ranges(name, "subgid")[0][0]


def _info(d: Daemon) -> dict:
    return json.loads(out(ok(d.cli("info", "--format", "{{json .}}"))))


def _inspect(d: Daemon, ref: str) -> dict:
    return json.loads(out(ok(d.cli("inspect", ref))))[0]


def _run(d: Daemon, *argv: str) -> str:
    return out(ok(d.cli("run", "--rm", *argv))).strip()


def _owner(path: Path | str) -> tuple[int, int]:
    st = os.lstat(path)
    return st.st_uid, st.st_gid


def _tar_owners(data: bytes) -> dict[str, tuple[int, int]]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name.rstrip("/"): (m.uid, m.gid) for m in tar.getmembers()}


# --- the default remap ------------------------------------------------------------------------


def test_default_makes_dockremap_with_a_free_range(remapped: Daemon) -> None:
    assert _user_exists("dockremap")
    for sub in ("subuid", "subgid"):
        ranges = _ranges("dockremap", sub)
        assert len(ranges) == 1 and ranges[0][1] == 65536
        others = [
            (int(start), int(count))
            for owner, start, count in (
                line.split(":") for line in Path("/etc", sub).read_text().split()
            )
            if owner != "dockremap"
        ]
        start = ranges[0][0]
        assert start >= 100000
        assert all(start + 65536 <= s or s + c <= start for s, c in others)


def test_containers_run_in_a_user_namespace_on_the_range(remapped: Daemon) -> None:
    uid, gid = _root_pair("dockremap")
    script = "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g"
    lines = [line.split() for line in _run(remapped, IMAGE, "sh", "-c", script).splitlines()]
    assert lines == [["0", str(uid), "65536"], ["0", str(gid), "65536"], ["0"], ["0"]]


def test_info_names_userns_and_the_remapped_root(remapped: Daemon) -> None:
    info = _info(remapped)
    assert "name=userns" in info["SecurityOptions"]
    uid, gid = _root_pair("dockremap")
    root = Path(info["DockerRootDir"])
    assert root == remapped.data_root / f"{uid}.{gid}"
    assert _owner(root) == (0, gid) and root.stat().st_mode & 0o777 == 0o710
    assert _owner(remapped.data_root) == (0, gid)


def test_image_files_are_root_inside_and_the_range_on_the_host(remapped: Daemon) -> None:
    assert _run(remapped, IMAGE, "stat", "-c", "%u:%g", "/bin/busybox", "/etc/passwd") == (
        "0:0\n0:0"
    )
    uid, gid = _root_pair("dockremap")
    root = Path(_info(remapped)["DockerRootDir"])
    busyboxes = list((root / "layers").glob("*/diff/bin/busybox"))
    assert busyboxes and all(_owner(p) == (uid, gid) for p in busyboxes)


def test_files_the_container_makes_belong_to_the_range(remapped: Daemon) -> None:
    uid, gid = _root_pair("dockremap")
    name = "userns-writer"
    script = (
        "echo a > /data/by-root && echo b > /by-root && touch /data/by-1000 /by-1000 "
        "&& chown 1000:1001 /data/by-1000 /by-1000"
    )
    try:
        ok(remapped.cli("run", "--name", name, "-v", "userns-vol:/data", IMAGE, "sh", "-c",
                        script))  # fmt: skip
        volume = Path(json.loads(out(ok(remapped.cli("volume", "inspect", "userns-vol"))))[0][
            "Mountpoint"
        ])  # fmt: skip
        assert _owner(volume) == (uid, gid)  # a new named volume is the remapped root's
        assert _owner(volume / "by-root") == (uid, gid)
        assert _owner(volume / "by-1000") == (uid + 1000, gid + 1001)
        upper = Path(_inspect(remapped, name)["GraphDriver"]["Data"]["UpperDir"])
        assert _owner(upper) == (uid, gid)
        assert _owner(upper / "by-root") == (uid, gid)
        assert _owner(upper / "by-1000") == (uid + 1000, gid + 1001)
        directory = Path(_inspect(remapped, name)["HostsPath"]).parent
        assert _owner(directory) == (0, gid) and directory.stat().st_mode & 0o777 == 0o710
        for etc in ("hosts", "hostname", "resolv.conf"):
            assert _owner(directory / etc) == (uid, gid)
    finally:
        remapped.cli("rm", "-f", name)
        remapped.cli("volume", "rm", "userns-vol")


def test_a_volume_filled_from_the_image_keeps_its_owners(remapped: Daemon) -> None:
    try:
        owners = _run(remapped, "-v", "userns-etc:/etc", IMAGE, "stat", "-c", "%u:%g", "/etc",
                      "/etc/passwd")  # fmt: skip
        assert owners.split() == ["0:0", "0:0"]
    finally:
        remapped.cli("volume", "rm", "userns-etc")


def test_etc_files_and_shm_are_roots_inside(remapped: Daemon) -> None:
    script = "stat -c '%u:%g %n' /etc/hosts /etc/hostname /etc/resolv.conf /dev/shm"
    lines = _run(remapped, "--ipc", "shareable", IMAGE, "sh", "-c", script).splitlines()
    assert lines == ["0:0 /etc/hosts", "0:0 /etc/hostname", "0:0 /etc/resolv.conf", "0:0 /dev/shm"]


def test_userns_host_runs_without_the_user_namespace(remapped: Daemon) -> None:
    uid, _ = _root_pair("dockremap")
    script = "cat /proc/self/uid_map; stat -c %u /bin/busybox"
    lines = _run(remapped, "--userns=host", IMAGE, "sh", "-c", script).split()
    assert lines == ["0", "0", "4294967295", str(uid)]
    name = "userns-host"
    try:
        ok(remapped.cli("create", "--name", name, "--userns=host", IMAGE, "true"))
        assert _inspect(remapped, name)["HostConfig"]["UsernsMode"] == "host"
    finally:
        remapped.cli("rm", "-f", name)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--privileged"],
            "privileged mode is incompatible with user namespaces.  You must run the container "
            "in the host namespace when running privileged mode",
        ),
        (
            ["--network", "host"],
            "cannot share the host's network namespace when user namespaces are enabled",
        ),
        (["--pid", "host"], "cannot share the host PID namespace when user namespaces are enabled"),
    ],
)
def test_host_modes_need_userns_host(remapped: Daemon, flags: list[str], message: str) -> None:
    refused = remapped.cli("create", *flags, IMAGE, "true")
    assert refused.returncode != 0
    assert message in refused.stderr.decode()
    assert _run(remapped, "--userns=host", *flags, IMAGE, "echo", "ran") == "ran"


def test_joining_a_containers_namespaces_joins_its_user_namespace(remapped: Daemon) -> None:
    name = "userns-donor"
    try:
        ok(remapped.cli("run", "-d", "--name", name, "--ipc", "shareable", IMAGE, "sleep", "60"))
        pid = _inspect(remapped, name)["State"]["Pid"]
        donor_ns = os.readlink(f"/proc/{pid}/ns/user")
        in_exec = out(ok(remapped.cli("exec", name, "readlink", "/proc/self/ns/user")))
        assert in_exec.strip() == donor_ns  # an exec enters the container's user namespace
        for flag in ("--network", "--pid", "--ipc"):
            script = "readlink /proc/self/ns/user"
            assert _run(remapped, flag, f"container:{name}", IMAGE, "sh", "-c", script) == (
                donor_ns
            )
    finally:
        remapped.cli("rm", "-f", name)


def test_containers_talk_over_a_user_network(remapped: Daemon) -> None:
    ok(remapped.cli("network", "create", "userns-net"))
    try:
        ok(remapped.cli("run", "-d", "--name", "userns-srv", "--network", "userns-net", IMAGE,
                        "httpd", "-f", "-p", "80", "-h", "/etc"))  # fmt: skip
        request = "GET /hostname HTTP/1.0\\r\\n\\r\\n"
        fetch = (
            f"for i in 1 2 3 4 5; do printf '{request}' | nc -w 3 userns-srv 80 && break; "
            "sleep 0.2; done"
        )
        answer = _run(remapped, "--network", "userns-net", IMAGE, "sh", "-c", fetch)
        assert answer.splitlines()[-1] == _inspect(remapped, "userns-srv")["Config"]["Hostname"]
        sysfs = _run(remapped, "--network", "userns-net", IMAGE, "cat", "/sys/class/net/eth0/mtu")
        assert sysfs.isdigit()  # the container's own sysfs: its netns is its user namespace's
    finally:
        remapped.cli("rm", "-f", "userns-srv")
        remapped.cli("network", "rm", "userns-net")


def _tar_of_one(name: str) -> bytes:
    """A tar holding one root-owned file and no entries for its directories."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.addfile(tarfile.TarInfo(name), io.BytesIO())
    return buf.getvalue()


def test_cp_and_export_speak_container_ids(remapped: Daemon, tmp_path: Path) -> None:
    uid, gid = _root_pair("dockremap")
    name = "userns-cp"
    try:
        ok(remapped.cli("run", "--name", name, IMAGE, "sh", "-c",
                        "touch /owned && chown 1000:1000 /owned"))  # fmt: skip
        source = tmp_path / "copied.txt"
        source.write_text("in\n")
        os.chown(source, 0, 0)
        ok(remapped.cli("cp", str(source), f"{name}:/copied.txt"))
        # a tar naming a file under directories it does not list: Untar makes them as root
        ok(remapped.cli("cp", "-", f"{name}:/", input=_tar_of_one("made/on/way.txt")))
        upper = Path(_inspect(remapped, name)["GraphDriver"]["Data"]["UpperDir"])
        assert _owner(upper / "copied.txt") == (uid, gid)
        assert _owner(upper / "made") == _owner(upper / "made/on") == (uid, gid)
        exported = _tar_owners(ok(remapped.cli("export", name)).stdout)
        assert exported["owned"] == (1000, 1000)
        assert exported["copied.txt"] == (0, 0)
        assert exported["made/on"] == exported["made/on/way.txt"] == (0, 0)
        assert exported["bin/busybox"] == (0, 0)
    finally:
        remapped.cli("rm", "-f", name)


def test_build_copy_workdir_and_run_own_as_in_the_image(remapped: Daemon, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("f\n")
    (tmp_path / "Dockerfile").write_text(
        f"FROM {IMAGE}\n"
        "COPY --chown=1000:1001 f /f\n"
        "COPY f /g\n"
        "WORKDIR /w\n"
        "RUN touch /made && chown 1002:1003 /made\n"
    )
    tag = "userns-built:1"
    try:
        ok(remapped.cli("build", "-q", "-t", tag, str(tmp_path)))
        owners = _run(remapped, tag, "stat", "-c", "%u:%g", "/f", "/g", "/w", "/made").split()
        assert owners == ["1000:1001", "0:0", "0:0", "1002:1003"]
    finally:
        remapped.cli("rmi", "-f", tag)


# --- an explicit user with two ranges ---------------------------------------------------------


def test_an_explicit_user_maps_all_its_ranges(explicit: Daemon) -> None:
    lines = _run(explicit, IMAGE, "cat", "/proc/self/uid_map", "/proc/self/gid_map").splitlines()
    (first, n1), (second, n2) = TEST_RANGES
    expected = [["0", str(first), str(n1)], ["1000", str(second), str(n2)]]
    assert [line.split() for line in lines] == expected * 2
    info = _info(explicit)
    assert info["DockerRootDir"].endswith(f"/{first}.{first}")
    assert "name=userns" in info["SecurityOptions"]


def test_commit_push_pull_save_load_keep_container_ids(
    explicit: Daemon, remapped: Daemon, registry, tmp_path: Path
) -> None:
    """A file of uid 1000 (host 400000 here) is uid 1000 in the committed layer, after a push
    and pull, and after a save loaded into the other daemon (host 1000 + its root there)."""
    name, tag = "userns-commit", f"{registry.host}/userns/committed:1"
    (second, _) = TEST_RANGES[1]
    try:
        ok(explicit.cli("run", "--name", name, IMAGE, "sh", "-c",
                        "echo x > /by-1000 && chown 1000:1000 /by-1000"))  # fmt: skip
        upper = Path(_inspect(explicit, name)["GraphDriver"]["Data"]["UpperDir"])
        assert _owner(upper / "by-1000") == (second, second)
        ok(explicit.cli("commit", name, tag))
        saved = ok(explicit.cli("save", tag)).stdout
        with tarfile.open(fileobj=io.BytesIO(saved)) as archive:
            manifest = json.loads(archive.extractfile("manifest.json").read())
            top = archive.extractfile(manifest[0]["Layers"][-1]).read()
        assert _tar_owners(top)["by-1000"] == (1000, 1000)
        check = ["stat", "-c", "%u:%g", "/by-1000", "/bin/busybox"]
        assert _run(explicit, tag, *check).split() == ["1000:1000", "0:0"]
        ok(explicit.cli("push", tag))
        ok(explicit.cli("rmi", tag))
        ok(explicit.cli("pull", tag))
        assert _run(explicit, tag, *check).split() == ["1000:1000", "0:0"]
        ok(remapped.cli("load", input=saved))
        assert _run(remapped, tag, *check).split() == ["1000:1000", "0:0"]
        uid, gid = _root_pair("dockremap")
        root = Path(_info(remapped)["DockerRootDir"])
        assert {_owner(p) for p in (root / "layers").glob("*/diff/by-1000")} == {
            (uid + 1000, gid + 1000)
        }
    finally:
        explicit.cli("rm", "-f", name)
        explicit.cli("rmi", "-f", tag)
        remapped.cli("rmi", "-f", tag)


def test_state_survives_a_restart_in_the_remapped_root(explicit: Daemon) -> None:
    ok(explicit.cli("create", "--name", "userns-kept", IMAGE, "true"))
    try:
        explicit.stop()
        explicit.start(f"--userns-remap={TEST_USER}")
        assert _inspect(explicit, "userns-kept")["Name"] == "/userns-kept"
        assert _run(explicit, IMAGE, "id", "-u") == "0"
    finally:
        explicit.cli("rm", "-f", "userns-kept")


def test_the_vfs_driver_copies_the_image_for_the_remapped_root(
    explicit: Daemon, busybox_tar: str
) -> None:
    (first, _), (second, _) = TEST_RANGES
    d = _traversable_base(Daemon())
    try:
        d.start(f"--userns-remap={TEST_USER}", "--storage-driver", "vfs")
        ok(d.cli("import", busybox_tar, IMAGE))
        ok(d.cli("run", "--name", "userns-vfs", IMAGE, "sh", "-c",
                 "stat -c %u:%g / /bin/busybox && touch /new && chown 1000:1000 /new"))  # fmt: skip
        tree = Path(_info(d)["DockerRootDir"]) / "vfs" / "dir"
        (rootfs,) = tree.iterdir()
        assert _owner(rootfs) == (first, first)
        assert _owner(rootfs / "new") == (second, second)
        assert out(ok(d.cli("logs", "userns-vfs"))).split() == ["0:0", "0:0"]
    finally:
        d.cleanup()


# --- start errors -----------------------------------------------------------------------------


def _failed_start(base: Path, *flags: str) -> str:
    result = subprocess.run(
        [
            str(DOCKERPYD),
            *("--config-file", str(base / "daemon.json")),
            *("--data-root", str(base / "root"), "--exec-root", str(base / "run")),
            *("--pidfile", str(base / "pid"), "-H", f"unix://{base}/d.sock"),
            "--bridge=none", "--iptables=false", "--ip-forward=false",
            *flags,
        ],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    return result.stderr


@pytest.fixture
def base(tmp_path: Path) -> Path:
    (tmp_path / "daemon.json").write_text("{}")
    return tmp_path


def test_unknown_users_and_groups_are_start_errors(base: Path) -> None:
    stderr = _failed_start(base, "--userns-remap=dpyns-nosuchuser")
    assert 'Error during uid lookup for "dpyns-nosuchuser"' in stderr
    stderr = _failed_start(base, "--userns-remap=root:dpyns-nosuchgroup")
    assert 'Error during groupname lookup for "dpyns-nosuchgroup"' in stderr
    stderr = _failed_start(base, "--userns-remap=a:b:c")
    assert 'Invalid user/group specification in --userns-remap: "a:b:c"' in stderr


def test_a_user_without_ranges_is_a_start_error(base: Path) -> None:
    stderr = _failed_start(base, "--userns-remap=nobody:nogroup")  # nobody has no ranges
    assert 'Can\'t create ID mappings: no subuid ranges found for user "nobody"' in stderr


def test_the_file_setting_clashes_with_the_flag(base: Path) -> None:
    (base / "daemon.json").write_text(json.dumps({"userns-remap": "default"}))
    stderr = _failed_start(base, "--userns-remap=default")
    assert "the following directives are specified both as a flag and in the configuration " in (
        stderr
    )
    assert "userns-remap: (from flag: default, from file: default)" in stderr


def test_a_setting_that_is_not_a_string_is_a_start_error(base: Path) -> None:
    (base / "daemon.json").write_text(json.dumps({"userns-remap": 1000}))
    stderr = _failed_start(base)
    assert "json: cannot unmarshal number into Go struct field Config.userns-remap" in stderr


def test_a_closed_directory_above_the_root_is_a_start_error(base: Path, explicit: Daemon) -> None:
    os.chmod(base, 0o700)  # the remapped root cannot pass it on its way to <root>/<uid>.<gid>
    stderr = _failed_start(base, f"--userns-remap={TEST_USER}")
    assert "restricts access to the remapped root uid/gid; please fix by allowing 'o+x'" in stderr
