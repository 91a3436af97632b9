"""More of dockerpy against the real docker CLI (see test_cli_compat.py for the method): pull,
push, save, load, history, image prune, login and logout against a local registry; build;
networks, volumes, disk usage and prune; cp, diff, export, commit, port.

Each scenario runs once with `docker` and once with `dockerpy`, each pass with a config
directory of its own (so login state starts empty) and the same daemon state: the pass starts
by removing what the scenario makes (`cmp-*` containers, `cmpm*` images, networks, volumes).
Placeholders in argv (`{reg}`, `{ctx}`, `{out}`...) are filled per pass; the pass's config
and output directories are normalised to `<CFG>`/`<OUT>` before comparing.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from .conftest import IMAGE
from .daemon import docker_cli
from .registry import Registry
from .test_cli_compat import DOCKERPY, Step, assert_same_steps, compiled, run_pass, s

__all__ = ["compiled"]  # the fixture, used by name

CLIENTS = {"docker": [docker_cli()], "dockerpy": [str(DOCKERPY)]}


def _docker(
    host: str, *argv: str, stdin: bytes = b"", cfg: str = ""
) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOCKER_HOST": host}
    if cfg:
        env["DOCKER_CONFIG"] = cfg
    return subprocess.run([docker_cli(), *argv], input=stdin, capture_output=True, env=env)


def _objects(host: str) -> set[str]:
    """The IDs of all containers and images (intermediate ones too)."""
    ps = _docker(host, "ps", "-aq", "--no-trunc").stdout.split()
    images = _docker(host, "images", "-aq", "--no-trunc").stdout.split()
    return {i.decode() for i in ps + images}


def reset(host: str, keep: set[str]) -> None:
    """Remove what scenarios make, so both passes start from the same state (and the same
    build cache): containers and images not in `keep`, `cmpm` tags, networks, volumes."""
    ps = {i.decode() for i in _docker(host, "ps", "-aq", "--no-trunc").stdout.split()}
    if ps - keep:
        _docker(host, "rm", "-f", *(ps - keep))
    refs = _docker(host, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout.decode()
    mine = [r for r in refs.split() if "cmpm" in r]
    if mine:
        _docker(host, "rmi", "-f", *mine)
    images = {i.decode() for i in _docker(host, "images", "-aq", "--no-trunc").stdout.split()}
    if images - keep:
        _docker(host, "rmi", "-f", *(images - keep))
    for kind in ("network", "volume"):
        names = _docker(host, kind, "ls", "-q", "--filter", "name=cmpm").stdout.split()
        if names:
            _docker(host, kind, "rm", *[n.decode() for n in names])


def compare(
    daemon, tmp_path: Path, steps: list[Step], normalise: re.Pattern | None = None, **subs: str
) -> None:
    """Run the steps with both clients; the outputs must be the same (after removing what
    `normalise` matches)."""
    passes = {}
    keep = _objects(daemon.host)
    for name, argv0 in CLIENTS.items():
        cfg, out = tmp_path / name / "cfg", tmp_path / name / "out"
        cfg.mkdir(parents=True)
        out.mkdir()
        fill = {**subs, "out": str(out)}
        filled = [([_fill(a, fill) for a in argv], stdin) for argv, stdin in steps]
        reset(daemon.host, keep)
        results = run_pass(argv0, filled, daemon.host, cfg)
        passes[name] = [
            tuple(_clean(x, cfg, out, normalise) if isinstance(x, str) else x for x in r)
            for r in results
        ]
    reset(daemon.host, keep)
    assert_same_steps(passes["docker"], passes["dockerpy"])


def _fill(arg: str, values: dict[str, str]) -> str:
    """`{name}` placeholders replaced, Go templates' `{{...}}` left alone."""
    for key, value in values.items():
        arg = arg.replace("{" + key + "}", value)
    return arg


def _clean(text: str, cfg: Path, out: Path, pattern: re.Pattern | None) -> str:
    text = text.replace(str(cfg), "<CFG>").replace(str(out), "<OUT>")
    return pattern.sub("", text) if pattern else text


def config_json(tmp_path: Path, client: str) -> str:
    path = tmp_path / client / "cfg" / "config.json"
    return path.read_text() if path.exists() else ""


@pytest.fixture(scope="module")
def auth_registry():
    reg = Registry(htpasswd={"alice": "s3cret"}).start()
    try:
        yield reg
    finally:
        reg.stop()


def test_pull_push_save_history(daemon, registry, tmp_path: Path, compiled) -> None:
    repo = f"{registry.host}/cmpm/bb"
    # a first push, so both passes see the layer already in the registry
    assert _docker(daemon.host, "tag", IMAGE, f"{repo}:1").returncode == 0
    assert _docker(daemon.host, "push", f"{repo}:1").returncode == 0
    steps = [
        s("tag", IMAGE, "{repo}:1"),
        s("push", "{repo}:1"),
        s("image", "push", "-q", "{repo}:1"),
        s("push", "{repo}"),
        s("push", "-a", "{repo}:1"),
        s("push", "{reg}/cmpm/nope:1"),
        s("push"),
        s("rmi", "{repo}:1"),
        s("pull", "{repo}:1"),
        s("pull", "{repo}:1"),
        s("pull", "-q", "{repo}:1"),
        s("image", "pull", "-a", "{repo}"),
        s("pull", "-a", "{repo}:1"),
        s("pull", "{repo}:nope"),
        s("pull", "Foo"),
        s("pull", "a:b:c"),
        s("history", IMAGE),
        s("history", "-q", IMAGE),
        s("image", "history", "--no-trunc", "--format", "json", IMAGE),
        s("history", "-H=false", "--format", "table {{.ID}}\t{{.Size}}\t{{.Comment}}", IMAGE),
        s("history", "cmpm-nope"),
        s("history"),
        s("save", "-o", "{out}/bb.tar", IMAGE),
        s("save", "-o", "/nonexistent/bb.tar", IMAGE),
        s("save", "-o", "{out}", IMAGE),
        s("save", "cmpm-nope"),
        s("load", "-i", "{out}/bb.tar"),
        s("load", "-q", "-i", "{out}/bb.tar"),
        s("tag", IMAGE, "cmpm-dangling:1"),
        s("image", "prune", "-f", "--filter", "label=nothing-has-it"),
        s("image", "prune", "--filter", "label=nothing-has-it", stdin=b"n\n"),
        s("rmi", "{repo}:1", "{repo}:latest", "cmpm-dangling:1"),
    ]
    compare(daemon, tmp_path, steps, repo=repo, reg=registry.host)
    assert (tmp_path / "docker" / "out" / "bb.tar").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "dockerpy" / "out" / "bb.tar").stat().st_mode & 0o777 == 0o600


def test_login_logout(daemon, auth_registry, tmp_path: Path, compiled) -> None:
    reg = auth_registry.host
    warm = str(tmp_path / "warm")  # a first push, so both passes see the layer there
    login = _docker(daemon.host, "login", "-u", "alice", "-p", "s3cret", reg, cfg=warm)
    assert login.returncode == 0, login.stderr
    assert _docker(daemon.host, "tag", IMAGE, f"{reg}/cmpm/private:1").returncode == 0
    assert _docker(daemon.host, "push", f"{reg}/cmpm/private:1", cfg=warm).returncode == 0
    steps = [
        s("login", "-u", "alice", "-p", "s3cret", "{reg}"),
        s("login", "-u", "alice", "--password-stdin", "{reg}", stdin=b"s3cret\n"),
        s("login", "{reg}"),
        s("login", "-u", "alice", "-p", "wrong", "{reg}"),
        s("tag", IMAGE, "{reg}/cmpm/private:1"),
        s("push", "{reg}/cmpm/private:1"),
        s("logout", "{reg}"),
        s("logout", "{reg}"),
        s("login", "{reg}"),
        s("login", "-p", "x", "--password-stdin", "{reg}"),
        s("login", "--password-stdin", "{reg}", stdin=b"x\n"),
        s("login", "-u", "alice", "--password-stdin", "http://{reg}/", stdin=b"s3cret"),
        s("rmi", "{reg}/cmpm/private:1"),
    ]
    compare(daemon, tmp_path, steps, reg=reg)
    assert config_json(tmp_path, "dockerpy") == config_json(tmp_path, "docker")
    assert '"auth": "YWxpY2U6czNjcmV0"' in config_json(tmp_path, "dockerpy")


_HELPER = """#!/usr/bin/env python3
# docker-credential-cmptest: a credential helper keeping JSON in $CMPTEST_STORE
import json, os, sys
path = os.environ["CMPTEST_STORE"]
store = json.load(open(path)) if os.path.exists(path) else {}
action, data = sys.argv[1], sys.stdin.read()
if action == "store":
    doc = json.loads(data)
    store[doc["ServerURL"]] = {"Username": doc["Username"], "Secret": doc["Secret"]}
elif action == "get":
    if data.strip() not in store:
        print("credentials not found in native keychain")
        sys.exit(1)
    print(json.dumps({"ServerURL": data.strip(), **store[data.strip()]}))
elif action == "erase":
    store.pop(data.strip(), None)
json.dump(store, open(path, "w"), sort_keys=True)
"""


def test_credential_helpers(daemon, auth_registry, tmp_path: Path, compiled) -> None:
    """`credsStore`/`credHelpers` in config.json: login stores through the helper (config.json
    keeps an empty entry), pushes read it back, logout erases it; a missing helper fails
    login with docker's message."""
    reg = auth_registry.host
    warm = str(tmp_path / "warm")  # a first push, so both passes see the layer there
    assert (
        _docker(daemon.host, "login", "-u", "alice", "-p", "s3cret", reg, cfg=warm).returncode == 0
    )
    assert _docker(daemon.host, "tag", IMAGE, f"{reg}/cmpm/helper:1").returncode == 0
    assert _docker(daemon.host, "push", f"{reg}/cmpm/helper:1", cfg=warm).returncode == 0
    helpers = tmp_path / "bin"
    helpers.mkdir()
    (helpers / "docker-credential-cmptest").write_text(_HELPER)
    (helpers / "docker-credential-cmptest").chmod(0o755)
    outcome = {}
    for name, cli in CLIENTS.items():
        cfg = tmp_path / name
        cfg.mkdir()
        (cfg / "config.json").write_text(
            '{"credsStore": "cmptest", "credHelpers": {"other.example": "nosuchhelper"}}'
        )
        env = {
            **os.environ,
            "DOCKER_HOST": daemon.host,
            "DOCKER_CONFIG": str(cfg),
            "CMPTEST_STORE": str(cfg / "store.json"),
            "PATH": f"{helpers}:{os.environ['PATH']}",
        }
        steps = [
            ["login", "-u", "alice", "--password-stdin", reg],
            ["login", reg],
            ["tag", IMAGE, f"{reg}/cmpm/helper:1"],
            ["push", f"{reg}/cmpm/helper:1"],
            ["login", "-u", "alice", "--password-stdin", "other.example"],
            ["logout", reg],
            ["logout", reg],
            ["rmi", f"{reg}/cmpm/helper:1"],
        ]
        results = []
        for argv in steps:
            p = subprocess.run([*cli, *argv], input=b"s3cret\n", capture_output=True, env=env)
            results.append((argv, p.returncode, p.stdout, p.stderr))
            if argv[0] == "login" and argv[-1] == reg and len(argv) > 2:
                results.append(
                    ((cfg / "store.json").read_text(), (cfg / "config.json").read_text())
                )
        results.append((cfg / "store.json").read_text())
        outcome[name] = results
    assert outcome["dockerpy"] == outcome["docker"]
    assert '"Secret": "s3cret"' in outcome["docker"][1][0]  # the helper really held them


def _context(root: Path) -> Path:
    """A build context with a .dockerignore: `secret*` and `logs/` are left out except
    `logs/keep.log`; the Dockerfile lists what COPY . received."""
    ctx = root / "ctx"
    (ctx / "logs").mkdir(parents=True)
    (ctx / "src" / "deep").mkdir(parents=True)
    (ctx / "Dockerfile").write_text(
        "FROM busybox\nARG X=1\nCOPY . /ctx\nRUN find /ctx | sort && echo X=$X\n"
        'LABEL built="yes"\nFROM busybox AS second\nRUN echo second\n'
    )
    (ctx / "fail.Dockerfile").write_text("FROM busybox\nRUN echo failing; exit 3\n")
    (ctx / ".dockerignore").write_text("# comment\nsecret*\nlogs\n!logs/keep.log\n**/*.tmp\n")
    (ctx / "secret.txt").write_text("no\n")
    (ctx / "logs" / "a.log").write_text("no\n")
    (ctx / "logs" / "keep.log").write_text("yes\n")
    (ctx / "src" / "main.py").write_text("print(1)\n")
    (ctx / "src" / "deep" / "x.tmp").write_text("no\n")
    return ctx


def test_build(daemon, tmp_path: Path, compiled) -> None:
    ctx = _context(tmp_path)
    dockerfile = b"FROM busybox\nRUN echo from stdin\n"
    steps = [
        s("build", "-t", "cmpm-b:1", "--target", "nope", "{ctx}"),
        s("build", "-t", "cmpm-b:1", "-t", "cmpm-b:2", "--build-arg", "X=2", "{ctx}"),
        s("build", "--no-cache", "--label", "l=v", "-q", "--iidfile", "{out}/iid", "{ctx}"),
        s("build", "-f", "{ctx}/fail.Dockerfile", "--force-rm", "{ctx}"),
        s("build", "-q", "-f", "{ctx}/fail.Dockerfile", "{ctx}"),
        s("image", "build", "-", stdin=dockerfile),
        s("build", "-f", "{ctx}/nope", "{ctx}"),
        s("build", "{ctx}/nope"),
        s(
            "build",
            "--network",
            "none",
            "--rm=false",
            "--pull",
            "--platform",
            "linux/amd64",
            "{ctx}",
        ),
        s("image", "inspect", "--format", "{{json .Config.Labels}}", "cmpm-b:2"),
        s("build"),
    ]
    compare(daemon, tmp_path, steps, ctx=str(ctx))
    # docker's context size differs here (its tar rewriter adds PAX times): compare the rest
    steps = [s("build", "-f", "-", "-t", "cmpm-stdin:1", "{ctx}", stdin=dockerfile)]
    strip = re.compile(r"Sending build context to Docker daemon +\S+")
    compare(daemon, tmp_path / "stdin", steps, ctx=str(ctx), normalise=strip)
    for client in CLIENTS:
        assert (tmp_path / client / "out" / "iid").read_text().startswith("sha256:")


def test_volumes_networks_disk_usage(daemon, tmp_path: Path, compiled) -> None:
    steps = [
        s("volume", "create", "--label", "k=v", "cmpm-v1"),
        s("volume", "create", "-d", "local", "-o", "type=tmpfs", "-o", "device=tmpfs", "cmpm-v2"),
        s("volume", "create", "cmpm-v1"),
        s("volume", "ls", "--filter", "name=cmpm"),
        s("volume", "ls", "-q", "--filter", "label=k=v"),
        s("volume", "list", "--format", "json", "--filter", "name=cmpm-v1"),
        s("volume", "ls", "--format", '{{.Name}} {{.Label "k"}} {{.Links}}', "-f", "name=cmpm"),
        s("volume", "inspect", "--format", "{{.Name}} {{.Driver}} {{.Labels}}", "cmpm-v1"),
        s("volume", "inspect", "cmpm-v1", "cmpm-nope"),
        s("run", "--name", "cmp-vol", "-v", "cmpm-v1:/data", IMAGE, "true"),
        s("volume", "rm", "cmpm-v1", "cmpm-nope"),
        s("volume", "rm", "-f", "cmpm-nope"),
        s("rm", "cmp-vol"),
        s("volume", "remove", "cmpm-v1"),
        s("volume", "prune", "-f", "--filter", "label=nothing-has-it"),
        s("volume", "prune", "-a", stdin=b"no\n"),
        s("network", "create", "--label", "n=1", "--subnet", "10.123.0.0/24", "cmpm-n1"),
        s("network", "create", "cmpm-n1"),
        s("network", "create", "--subnet", "10.124.0.0/24", "--gateway", "10.125.0.1", "cmpm-n2"),
        s("network", "ls", "--filter", "name=cmpm"),
        s("network", "ls", "-q", "--no-trunc", "--filter", "label=n=1"),
        s(
            "network",
            "list",
            "--filter",
            "name=cmpm",
            "--format",
            "{{.Name}} {{.Driver}} {{.IPv6}}",
        ),
        s("network", "inspect", "--format", "{{.Name}} {{json .IPAM.Config}}", "cmpm-n1"),
        s("network", "inspect", "cmpm-nope"),
        s("create", "--name", "cmp-net", IMAGE, "true"),
        s("network", "connect", "cmpm-n1", "cmp-net"),
        s("network", "connect", "cmpm-nope", "cmp-net"),
        s("network", "disconnect", "cmpm-n1", "cmp-net"),
        s("network", "rm", "cmpm-n1", "cmpm-nope"),
        s("network", "rm", "-f", "cmpm-nope"),
        s("network", "prune", "-f", "--filter", "label=nothing-has-it"),
        s("network", "prune", stdin=b"n\n"),
        s("system", "df", "--format", "{{.Type}}"),
        s("system", "prune", "--filter", "label=nothing-has-it", stdin=b"n\n"),
        s("system", "prune", "-a", "--volumes", "--filter", "label=nothing-has-it", stdin=b"n\n"),
        s("system", "prune", "-f", "--filter", "label=nothing-has-it"),
        s("builder", "prune", stdin=b"n\n"),
        s("rm", "cmp-net"),
    ]
    compare(daemon, tmp_path, steps)
