"""The crash-point tests' shared parts: keep a daemon busy with some work, kill -9 it at a
chosen point, and check that the restart repaired whatever the kill cut short.

A kill point is "after N finished operations, then D seconds into the next one": counting
finished CLI calls lands the kill between requests, the delay lands it inside one. What the
checks verify does not depend on where it landed:
- containers: every one listed inspects; containerd holds none the daemon does not list, and
  no shim process or runc container is left without a task; no record (endpoint, layer
  hold) or directory is left of a container that is gone;
- files: nothing mounted under the data root, the image store's tmp/ empty, and the layer
  dirs, layer links and config blobs on disk exactly the ones the metadata references, every
  layer an image or a container needs present;
- images: every one listed inspects, has a history and runs;
- networks (daemons in a private netns): every network inspects, every bridge and veth in the
  namespace belongs to a network or a running container's endpoint, and no iptables or
  ip6tables rule names an interface, a subnet or a container address that no longer exists.
"""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import json
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from .conftest import IMAGE, ok, out
from .daemon import Daemon
from .netutil import in_ns


@dataclass(frozen=True, slots=True)
class KillPoint:
    """Where the kill lands: after `after` operations finished, `delay` seconds later, and
    then as soon as `when` holds (a state too short-lived for a delay to hit)."""

    after: int
    delay: float = 0.0
    when: Callable[[], bool] | None = None

    def __str__(self) -> str:
        return f"{self.after}+{self.delay}s" + (f"+{self.when.__name__}" if self.when else "")


def kill_during(
    d: Daemon, steps: Iterable[Sequence[str]], point: KillPoint
) -> list[tuple[tuple[str, ...], int]]:
    """Run the CLI steps one after another in a thread and kill -9 the daemon at `point`.
    Returns the steps whose answer came before the kill, with their exit codes (the one in
    flight is not among them, whatever it answered)."""
    stop = threading.Event()
    done: list[tuple[tuple[str, ...], int]] = []

    def work() -> None:
        for argv in steps:
            if stop.is_set():
                return
            result = d.cli(*argv, timeout=60)
            done.append((tuple(argv), result.returncode))

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    while len(done) < point.after and worker.is_alive():
        worker.join(0.005)
    assert worker.is_alive(), f"the work ran out before the kill point {point}"
    time.sleep(point.delay)
    deadline = time.monotonic() + 30
    while point.when is not None and not point.when():
        assert time.monotonic() < deadline and worker.is_alive(), f"{point} never held"
        time.sleep(0.001)
    finished = list(done)
    d.kill9()
    stop.set()
    worker.join(60)
    return finished


def ids(d: Daemon, *argv: str) -> list[str]:
    """The IDs a `-q` listing prints."""
    return out(ok(d.cli(*argv))).split()


def inspect(d: Daemon, *argv: str) -> list[dict]:
    return json.loads(out(ok(d.cli(*argv))))


# ---------------------------------------------------------------- containers and files


def containerd_ids(d: Daemon, kind: str = "containers") -> set[str]:
    """The IDs containerd holds in our namespace: container records, or "tasks"."""
    sock = d.exec_root / "containerd" / "containerd.sock"
    listing = subprocess.run(
        ["ctr", "-a", str(sock), "-n", "dockerpy", kind, "ls", "-q"],
        capture_output=True,
        check=True,
        timeout=30,
    )
    return set(listing.stdout.decode().split())


def shim_ids(d: Daemon) -> set[str]:
    """The task IDs of the shim processes serving this daemon's containerd."""
    address = str(d.exec_root / "containerd" / "containerd.sock")
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        flags = dict(zip(argv[1::2], argv[2::2], strict=False))
        if "containerd-shim" in argv[0] and flags.get("-address") == address:
            found.add(flags.get("-id", ""))
    return found


def _db_rows(d: Daemon, sql: str) -> list[tuple]:
    """Rows of the daemon's metadata database, read-only (WAL lets the daemon go on)."""
    uri = f"file:{d.data_root / 'dockerpy.db'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        return db.execute(sql).fetchall()


def check_containers(d: Daemon) -> list[str]:
    """Every listed container inspects and is in a settled state; containerd and the
    metadata name no other container. Returns the listed IDs."""
    listed = ids(d, "ps", "-aq", "--no-trunc")
    for info in inspect(d, "inspect", *listed) if listed else []:
        assert info["Id"] in listed
        assert info["State"]["Status"] in ("created", "running", "paused", "exited"), info["State"]
    assert containerd_ids(d) <= set(listed)
    tasks = containerd_ids(d, "tasks")
    assert shim_ids(d) <= tasks, "shim processes without a task"
    runc = Path("/run/containerd/runc/dockerpy")  # machine-wide (notes trap 8): ours by ID
    runc_ids = {p.name for p in runc.iterdir()} if runc.exists() else set()
    assert runc_ids & set(listed) <= tasks, "runc containers without a task"
    referring = _db_rows(d, "SELECT container_id FROM endpoints")
    referring += _db_rows(d, "SELECT holder FROM layer_holds")
    assert {cid for (cid,) in referring} <= set(listed), "records of removed containers"
    root = d.data_root / "containers"
    dirs = {p.name for p in root.iterdir() if len(p.name) == 64} if root.exists() else set()
    assert dirs == set(listed), "container directories without a container"
    return listed


def check_files(d: Daemon) -> None:
    """Nothing mounted under the data root but the /dev/shm of running `--ipc shareable`
    containers, tmp/ empty, and the image store's files exactly what its metadata
    references: a layer dir (and short link) per layer row, a blob per image, each layer
    needed by an image or a container's hold, and none missing."""
    running = ids(d, "ps", "-q", "--no-trunc")
    allowed = {f"{d.data_root}/containers/{cid}/shm" for cid in running}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mount_point = line.split()[4]
        if mount_point.startswith(f"{d.data_root}/"):
            assert mount_point in allowed, f"left mounted: {mount_point}"
    tmp = d.data_root / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []
    layers = {chain: parent for chain, parent in _db_rows(d, "SELECT chain_id, parent FROM layers")}
    needed: set[str] = set()
    roots = [chain for (chain,) in _db_rows(d, "SELECT chain_id FROM layer_holds")]
    images = {image_id: config for image_id, config in _db_rows(d, "SELECT id, config FROM images")}
    for config in images.values():
        roots += _chain_ids(json.loads(config)["rootfs"].get("diff_ids") or [])
    for chain in roots:
        while chain and chain not in needed:
            assert chain in layers, f"layer {chain} is needed but not recorded"
            needed.add(chain)
            chain = layers[chain]
    assert set(layers) == needed, f"layers nobody needs: {set(layers) - needed}"
    on_disk = {p.name for p in (d.data_root / "layers").iterdir()}
    assert on_disk == {c.removeprefix("sha256:") for c in layers}
    for chain in layers:
        assert (d.data_root / "layers" / chain.removeprefix("sha256:") / "diff").is_dir()
    links = d.data_root / "layer-links"
    targets = sorted(p.resolve().parent.name for p in links.iterdir()) if links.exists() else []
    assert targets == sorted(c.removeprefix("sha256:") for c in layers)
    blobs = {p.name for p in (d.data_root / "image" / "blobs" / "sha256").iterdir()}
    assert blobs == {i.removeprefix("sha256:") for i in images}


def _chain_ids(diff_ids: list[str]) -> list[str]:
    """The OCI ChainIDs of a list of DiffIDs."""
    chains: list[str] = []
    for diff_id in diff_ids:
        if not chains:
            chains.append(diff_id)
        else:
            text = f"{chains[-1]} {diff_id}".encode()
            chains.append("sha256:" + hashlib.sha256(text).hexdigest())
    return chains


def check_images(d: Daemon, run: bool = True) -> list[str]:
    """Every listed image (intermediate ones too) inspects and has a history; with `run`,
    a container runs from each, so all its layers are there. Returns the IDs."""
    listed = sorted(set(ids(d, "images", "-aq", "--no-trunc")))
    for image_id in listed:
        info = inspect(d, "image", "inspect", image_id)[0]
        assert info["Id"] == image_id
        history = out(ok(d.cli("history", "-q", "--no-trunc", image_id))).split()
        assert history and history[0] == image_id
        if run:
            ok(d.cli("run", "--rm", "--network", "none", image_id, "true"))
    return listed


def remove_containers(d: Daemon) -> None:
    """Every container removes, and containerd is left with none."""
    listed = ids(d, "ps", "-aq", "--no-trunc")
    if listed:
        ok(d.cli("rm", "-f", *listed))
    assert containerd_ids(d) == set()
    assert _db_rows(d, "SELECT holder FROM layer_holds") == []


def remove_volumes(d: Daemon) -> None:
    for volume in ids(d, "volume", "ls", "-q"):
        ok(d.cli("volume", "rm", volume))


def check_all(d: Daemon) -> list[str]:
    """The container, file and image checks, after a restart; returns the containers."""
    listed = check_containers(d)
    check_files(d)
    check_images(d, run=False)
    return listed


def still_works(d: Daemon) -> None:
    ok(d.cli("run", "--rm", IMAGE, "true"))


# ---------------------------------------------------------------- networks


def netns_links(netns: str, kind: str = "") -> set[str]:
    """The names of the namespace's links (of one kind: bridge, veth)."""
    argv = ["ip", "-o", "link", "show", *(["type", kind] if kind else [])]
    text = in_ns(netns, *argv).stdout.decode()
    return {line.split(":", 2)[1].strip().split("@", 1)[0] for line in text.splitlines()}


def netns_rules(netns: str) -> list[str]:
    """Every iptables and ip6tables rule of the nat and filter tables, `-S` lines prefixed
    with the command and table, sorted (a rule that leaked twice shows twice)."""
    rules = []
    for cmd in ("iptables", "ip6tables"):
        for table in ("nat", "filter"):
            listing = in_ns(netns, cmd, "-w", "-t", table, "-S")
            assert listing.returncode == 0, listing.stderr.decode()
            rules += [f"{cmd} {table} {line}" for line in listing.stdout.decode().splitlines()]
    return sorted(rules)


@dataclass(slots=True)
class NetState:
    """What the daemon says exists: bridges, live endpoint addresses, subnets."""

    bridges: set[str]
    addresses: set[str]
    subnets: set[str]
    live_endpoints: int


def check_networks(d: Daemon, netns: str) -> NetState:
    """Every network inspects; links and rules in the namespace belong to what exists."""
    state = NetState(set(), set(), set(), 0)
    nets = ids(d, "network", "ls", "-q", "--no-trunc")
    for net in inspect(d, "network", "inspect", *nets):
        if net["Driver"] != "bridge":
            continue
        name = net["Options"].get("com.docker.network.bridge.name") or f"br-{net['Id'][:12]}"
        state.bridges.add(name)
        for config in net["IPAM"]["Config"]:
            state.subnets.add(str(ipaddress.ip_network(config["Subnet"], strict=False)))
        for ep in net["Containers"].values():
            state.live_endpoints += 1
            for key in ("IPv4Address", "IPv6Address"):
                if ep[key]:
                    state.addresses.add(ep[key].split("/")[0])
    assert netns_links(netns, "bridge") == state.bridges
    veths = netns_links(netns, "veth")
    assert len(veths) == state.live_endpoints, f"veths {veths} for {state.live_endpoints} endpoints"
    links = netns_links(netns)
    for rule in netns_rules(netns):
        _check_rule(rule, links, state)
    return state


def _check_rule(rule: str, links: set[str], state: NetState) -> None:
    words = rule.split()
    for flag, value in itertools.pairwise(words):
        if flag in ("-i", "-o"):
            assert value in links, f"rule names a link that is gone: {rule}"
        elif flag in ("-s", "-d"):
            net = ipaddress.ip_network(value, strict=False)
            if net.prefixlen == net.max_prefixlen:
                if not net.network_address.is_loopback:
                    assert str(net.network_address) in state.addresses, f"stale address: {rule}"
            elif not net.network_address.is_loopback:
                assert str(net) in state.subnets, f"stale subnet: {rule}"
        elif flag == "--to-destination":
            host = value.rpartition(":")[0].strip("[]")
            assert host in state.addresses, f"DNAT to a gone address: {rule}"
