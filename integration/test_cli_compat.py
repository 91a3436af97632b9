"""dockerpy against the real docker CLI: each scenario script runs once with `docker` and once
with `.venv/bin/dockerpy`, against the session daemon, and the stdout, stderr and exit status
of every step must match after IDs, times and column padding are normalised.

A scenario is a list of steps; a step is argv (with `{since}`/`{until}` filled with the pass's
start and current time) and optionally bytes for stdin. Each pass starts and ends by removing
the scenario's containers (all named `cmp-*`), so both passes see the same daemon state.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import IMAGE
from .daemon import REPO, docker_cli

DOCKERPY = REPO / ".venv" / "bin" / "dockerpy"

Step = tuple[list[str], bytes | None]


def s(*argv: str, stdin: bytes | None = None) -> Step:
    return list(argv), stdin


SCENARIOS: dict[str, list[Step]] = {
    "version-info": [
        s("version", "--format", "{{.Server.Version}} {{.Server.Os}} {{.Server.Arch}}"),
        s("version", "--format", "{{json .Server.Components}}"),
        s("info", "--format", "{{.Driver}} {{.OSType}} {{json .Plugins.Log}} {{.NCPU}}"),
        s("version", "--format", "{{.Server.Nope"),
    ],
    "run-exit-codes": [
        s("run", "--rm", IMAGE, "echo", "hi"),
        s("run", "--name", "cmp-exit", IMAGE, "sh", "-c", "echo out; echo err >&2; exit 3"),
        s("run", "--rm", IMAGE, "no-such-binary"),
        s("run", "--rm", IMAGE, "/etc/passwd"),
        s("run", "--name", "cmp-exit", IMAGE, "true"),
        s("run", "--rm", "--restart", "always", IMAGE, "true"),
        s("run", "-d", "-a", "stdout", IMAGE, "true"),
        s("run", "--rm", "-a", "stdout", IMAGE, "sh", "-c", "echo o; echo e >&2"),
        s("run", "--rm", "-i", IMAGE, "sh", "-c", "cat; echo end", stdin=b"piped\nlines\n"),
        # without a TTY, ctrl-p ctrl-q in piped input is data, not a detach
        s("run", "--rm", "-i", IMAGE, "od", "-An", "-c", stdin=b"a\x10\x11b\n"),
        s(
            "run",
            "--rm",
            "-e",
            "A=1",
            "-w",
            "/tmp",
            "-u",
            "1:2",
            "-h",
            "hh",
            "--entrypoint",
            "sh",
            IMAGE,
            "-c",
            "echo $A $(pwd) $(id -u):$(id -g) $(hostname)",
        ),
        s(
            "run",
            "--rm",
            "-l",
            "a=b",
            "--init",
            "--read-only",
            "--cap-drop",
            "ALL",
            "--pids-limit",
            "50",
            "--memory",
            "64m",
            "--cpus",
            "0.5",
            "--stop-signal",
            "SIGUSR1",
            "--stop-timeout",
            "3",
            "--health-cmd",
            "true",
            "--health-interval",
            "1s",
            IMAGE,
            "true",
        ),
        s("run", "--rm", "--memory", "lots", IMAGE, "true"),
        s("run", "--rm", "--health-interval", "5x", IMAGE, "true"),
        s("run", "-it", IMAGE, "true"),
        s("logs", "cmp-exit"),
        s("logs", "--tail", "0", "cmp-exit"),
        s("rm", "cmp-exit"),
    ],
    "lifecycle": [
        s("run", "-d", "--name", "cmp-a", "-l", "role=web", IMAGE, "sleep", "300"),
        s("create", "--name", "cmp-b", IMAGE, "echo", "hello world this is a long command"),
        s("ps", "--filter", "name=cmp-"),
        s("ps", "-a", "--filter", "name=cmp-", "--no-trunc"),
        s("ps", "-a", "-q", "--filter", "name=cmp-"),
        s("ps", "-a", "-s", "--filter", "name=cmp-"),
        s("ps", "-a", "--filter", "name=cmp-", "--format", "json"),
        s(
            "ps",
            "-a",
            "--filter",
            "name=cmp-",
            "--format",
            'table {{.Names}}\t{{.Label "role"}}\t{{.State}}\t{{.Command}}',
        ),
        s("ps", "-a", "--filter", "label=role=web", "--format", "{{.Names}} {{.Status}}"),
        s("container", "ls", "-a", "-n", "1", "--filter", "name=cmp-", "--format", "{{.Names}}"),
        s("ps", "-q", "--format", "{{.Names}}", "--filter", "name=cmp-"),
        s("ps", "--format", "{{.Foo}}"),
        s("ps", "--foo"),
        s("ps", "-n", "abc"),
        s("ps", "--filter", "nofilter"),
        s("inspect", "--format", "{{.Name}} {{.State.Status}} {{json .Config.Labels}}", "cmp-a"),
        s(
            "container",
            "inspect",
            "--format",
            "{{.Config.Cmd}} {{.HostConfig.RestartPolicy.Name}}",
            "cmp-b",
        ),
        s("inspect", "--format", "{{.Foo}}", "cmp-a"),
        s("inspect", "cmp-b", "cmp-nope"),
        s("container", "inspect", "cmp-nope"),
        s("top", "cmp-a"),
        s("exec", "cmp-a", "sh", "-c", "echo x; echo y >&2; exit 4"),
        s(
            "exec",
            "-e",
            "V=2",
            "-w",
            "/etc",
            "-u",
            "1",
            "cmp-a",
            "sh",
            "-c",
            "echo $V $(pwd) $(id -u)",
        ),
        s("exec", "-i", "cmp-a", "cat", stdin=b"to exec\n"),
        s("exec", "cmp-a", "no-such-binary"),
        s("exec", "cmp-nope", "true"),
        s("exec", "-e", "CMP_UNSET_VARIABLE", "cmp-a", "sh", "-c", "echo"),
        s("exec", "-d", "cmp-a", "true"),
        s("pause", "cmp-a"),
        s("pause", "cmp-a"),
        s("unpause", "cmp-a"),
        s("unpause", "cmp-a"),
        s("stop", "-t", "1", "cmp-a", "cmp-nope"),
        s("wait", "cmp-a"),
        s("start", "cmp-a", "cmp-nope"),
        s("restart", "-t", "0", "cmp-a"),
        s("kill", "-s", "NOPE", "cmp-a"),
        s("kill", "cmp-a"),
        s("rename", "cmp-a", "cmp-c"),
        s("rename", "cmp-nope", "cmp-d"),
        s("start", "-a", "cmp-b"),
        s("rm", "cmp-c", "cmp-nope"),
        s("rm", "-f", "cmp-nope"),
        s("rm"),
        s(
            "events",
            "--since",
            "{since}",
            "--until",
            "{until}",
            "--filter",
            "container=cmp-b",
            "--format",
            "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
        ),
        s(
            "events",
            "--since",
            "{since}",
            "--until",
            "{until}",
            "--filter",
            "event=start",
            "--filter",
            "container=cmp-b",
        ),
        s("rm", "-v", "cmp-b"),
        s("create", "--name", "cmp-p", IMAGE),
        s("container", "prune", "-f", "--filter", "label=nothing-has-this"),
        s("rm", "cmp-p"),
    ],
    "images": [
        s("images"),
        s("images", "-q"),
        s("image", "ls", "--digests", "busybox"),
        s("images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}} {{.Size}}"),
        s("images", "--format", "json"),
        s("tag", IMAGE, "cmp-tag:v1"),
        s("images", "cmp-tag"),
        s("image", "inspect", "--format", "{{.RepoTags}} {{.Os}}", "cmp-tag:v1"),
        s("image", "inspect", "cmp-nope"),
        s("tag", "cmp-nope", "cmp-x"),
        s("rmi", "cmp-tag:v1"),
        s("rmi", "cmp-tag:v1"),
        s("tag", IMAGE, "bad/tag/:x"),
        s("tag", IMAGE, "UPPER"),
        s("tag", IMAGE, "cmp-x@sha256:aaaa"),
        s("tag", "bad::ref", "cmp-x"),
        s("search", IMAGE),
        s("search", "--limit", "x", IMAGE),
        s(
            "volume",
            "create",
            "-o",
            "type=tmpfs",
            "-o",
            "device=tmpfs",
            "--label",
            "b=1",
            "--label",
            "a=2",
            "cmp-vol",
        ),
        s("volume", "inspect", "cmp-vol"),
        s("volume", "rm", "cmp-vol"),
    ],
    # --format: Go's template language and docker's functions, on inspect, ps and images
    "templates": [
        s(
            "create",
            "--name",
            "cmp-t",
            "-l",
            "a=1",
            "-l",
            "b.c=two",
            "-e",
            "X=1",
            IMAGE,
            "echo",
            "hello",
            "world",
        ),
        *(
            s("inspect", "--format", fmt, "cmp-t")
            for fmt in (
                '{{index .Config.Labels "a"}} {{index .Config.Labels "nope"}}',
                "{{len .Config.Env}} {{len .Name}} {{len .Config.Labels}}",
                '{{join .Config.Cmd ","}}|{{join .Config.Cmd ""}}',
                "{{lower .State.Status}} {{upper .State.Status}} {{title .State.Status}}",
                '{{printf "%s:%d:%v:%q" .Name .State.ExitCode .State.Running .Name}}',
                '{{printf "%5.2f|%-6s|%x" 3.14159 "ab" 255}}',
                "{{range .Config.Env}}[{{.}}]{{end}}",
                "{{range $i, $e := .Config.Cmd}}{{$i}}={{$e}} {{end}}",
                "{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}};{{end}}",
                "{{if .State.Running}}up{{else if .State.Paused}}paused{{else}}down{{end}}",
                '{{if and (eq .State.Status "created") (not .State.Running)}}new{{end}}',
                '{{if or (gt .State.ExitCode 0) (ne .Name "/x")}}yes{{end}}',
                "{{with .State}}{{.Status}}{{end}}{{with .Nope}}x{{else}}none{{end}}",
                "{{println .Name}}{{print .Name 1 2}}",
                '{{truncate .Name 3}}|{{pad .Name 2 3}}|{{split .Name "t"}}',
                "{{json .Config.Labels}} {{json .Config.Cmd}} {{json .State.Running}}",
                "{{.Config.Labels}} {{.Config.Cmd}} {{.HostConfig.Dns}}",
                "{{/* a comment */}}{{- .Name -}} {{ .State.Status }}",
                "{{$n := .Name}}{{$n}}{{$n = .Driver}}{{$n}}",
                "{{slice .Name 1 3}} {{index .Config.Cmd 1}}",
                "{{.State.Nope}}",
                "{{index .Config.Cmd 5}}",
                "{{.Name",
                "{{nofunc .Name}}",
                "{{range .Name}}{{end}}",
            )
        ),
        s(
            "ps",
            "-a",
            "--filter",
            "name=cmp-t",
            "--format",
            '{{.Names}} {{.Label "b.c"}} {{.Labels}} {{json .Command}} {{.State}}',
        ),
        s("ps", "-a", "--filter", "name=cmp-t", "--format", "table {{.Names}}\t{{.Image}}"),
        s(
            "ps",
            "-a",
            "--filter",
            "name=cmp-t",
            "--format",
            'table {{.Names}}\t{{.Label "b.c"}}\t{{lower .State}}',
        ),
        s("ps", "-a", "--filter", "name=cmp-t", "--format", "{{json .}}"),
        s("images", "--format", "{{.Repository}}|{{.Tag}}|{{.Containers}}|{{.Digest}}"),
        s("images", "--format", "table {{.Repository}}\t{{.Size}}\t{{.CreatedSince}}"),
        s("rm", "cmp-t"),
    ],
    # listing flags: -q, --no-trunc, -s, --filter, for each kind of object
    "listing": [
        s("run", "--name", "cmp-l1", "-l", "tier=a", IMAGE, "sh", "-c", "exit 3"),
        s("run", "-d", "--name", "cmp-l2", "-l", "tier=b", IMAGE, "sleep", "300"),
        s("create", "--name", "cmp-l3", IMAGE, "true"),
        *(
            s("ps", *f, "--format", "{{.Names}}")
            for f in (
                ["-a", "--filter", "name=cmp-l"],
                ["--filter", "name=cmp-l"],
                ["-a", "--filter", "status=exited", "--filter", "name=cmp-l"],
                ["-a", "--filter", "status=created", "--filter", "name=cmp-l"],
                ["-a", "--filter", "exited=3", "--filter", "name=cmp-l"],
                ["-a", "--filter", "label=tier", "--filter", "name=cmp-l"],
                ["-a", "--filter", "label=tier=b"],
                ["-a", "--filter", "ancestor=" + IMAGE, "--filter", "name=cmp-l"],
                ["-a", "--filter", "before=cmp-l3", "--filter", "name=cmp-l"],
                ["-a", "--filter", "since=cmp-l1", "--filter", "name=cmp-l"],
                ["-a", "--filter", "status=bogus"],
                ["-a", "--filter", "bogus=1"],
                ["-a", "-n", "2", "--filter", "name=cmp-l"],
                ["-l", "--filter", "name=cmp-l"],
            )
        ),
        s("ps", "-a", "-q", "--no-trunc", "--filter", "name=cmp-l2"),
        s("ps", "-a", "-s", "--filter", "name=cmp-l3"),
        s("ps", "-a", "--no-trunc", "--filter", "name=cmp-l1"),
        s("container", "ls", "-aq", "--filter", "name=cmp-l"),
        s("container", "list", "--filter", "name=cmp-l2", "--format", "{{.Names}}"),
        s("images", "-q", "--no-trunc"),
        s("images", "--filter", "dangling=false", "--format", "{{.Repository}}"),
        s("images", "--filter", "reference=busy*", "--format", "{{.Repository}}"),
        s("images", "--filter", "bogus=1"),
        s("image", "ls", "-a", "--format", "{{.Repository}}:{{.Tag}}"),
        s("history", "-q", IMAGE),
        s("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Size}}", IMAGE),
        s("volume", "create", "cmp-lv"),
        s("volume", "ls", "-q", "--filter", "name=cmp-lv"),
        s("volume", "ls", "--filter", "dangling=true", "--filter", "name=cmp-lv"),
        s("volume", "ls", "--format", "{{.Name}} {{.Driver}}", "--filter", "name=cmp-lv"),
        s("volume", "rm", "cmp-lv"),
        s("network", "ls", "-q", "--no-trunc", "--filter", "name=none"),
        s("network", "ls", "--filter", "driver=null", "--format", "{{.Name}} {{.Scope}}"),
        s("container", "stop", "-t", "0", "cmp-l2"),
        s("container", "rm", "cmp-l1", "cmp-l2", "cmp-l3"),
    ],
    # events and system events: text, json, templates, filters
    "events": [
        s("run", "--name", "cmp-ev", "-l", "k=v", IMAGE, "true"),
        s("rm", "cmp-ev"),
        *(
            s(
                *cmd,
                "--since",
                "{since}",
                "--until",
                "{until}",
                "--filter",
                "container=cmp-ev",
                *more,
            )
            for cmd in (["events"], ["system", "events"])
            for more in (
                [],
                ["--format", "json"],
                ["--format", "{{.Status}} {{.Type}} {{.Actor.Attributes.k}}"],
                ["--filter", "event=die", "--format", "{{json .Actor.Attributes}}"],
                [
                    "--filter",
                    "type=container",
                    "--filter",
                    "event=create",
                    "--format",
                    "{{.Action}}",
                ],
                ["--filter", "label=k=v", "--format", "{{.Action}}"],
                ["--format", "{{.Nope}}"],
            )
        ),
        s("events", "--since", "{since}", "--until", "{until}", "--filter", "bogus=1"),
        s("events", "--since", "nonsense", "--until", "{until}"),
    ],
    # management forms and their errors
    "management": [
        s("container", "create", "--name", "cmp-m", IMAGE, "true"),
        s("container", "start", "-a", "cmp-m"),
        s("container", "inspect", "--format", "{{.State.Status}}", "cmp-m"),
        s("container", "rename", "cmp-m", "cmp-m2"),
        s("container", "wait", "cmp-m2"),
        s("container", "logs", "cmp-m2"),
        s("container", "diff", "cmp-m2"),
        s("container", "top", "cmp-m2"),
        s("container", "port", "cmp-m2"),
        s("container", "remove", "cmp-m2"),
        s("image", "tag", IMAGE, "cmp-tag:v1"),
        s("image", "inspect", "--format", "{{.RepoTags}}", "cmp-tag:v1"),
        s("image", "history", "--format", "{{.ID}}", "cmp-tag:v1"),
        s("image", "remove", "cmp-tag:v1"),
        s("image", "rm", "cmp-tag:v1"),
        s("system", "info", "--format", "{{.OSType}} {{.Driver}}"),
        s("container", "prune", "-f", "--filter", "label=nothing-has-this"),
        s("image", "prune", "-f", "--filter", "label=nothing-has-this"),
    ],
}

# Normalisation: what legitimately differs between two runs (or two clients).
_SUBS = [
    (re.compile(r'"(time|timeNano)":\d+'), r'"\1":<N>'),  # events' JSON
    (re.compile(r"\b(?:sha256:)?[0-9a-f]{64}\b"), "<ID>"),
    (re.compile(r"\b[0-9a-f]{12}\b"), "<ID>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)"), "<TIME>"),
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \w+"), "<TIME>"),
    (
        re.compile(r"(?:Less than a second|About a minute|About an hour|\d+ \w+)( ago)?"),
        r"<AGO>\1",
    ),
    (re.compile(r"(?<=\S)  +"), "  "),  # table padding follows the normalised widths
    (re.compile(r"\d\d:\d\d(?::\d\d)?"), "<CLOCK>"),  # top's STIME/TIME
    (re.compile(r"(?m)^root  .*  sleep"), "root <PROCESS> sleep"),  # pids, CPU%, times
]


def normalise(text: str) -> str:
    for pattern, repl in _SUBS:
        text = pattern.sub(repl, text)
    return text


def run_pass(cli: list[str], steps: list[Step], host: str, cfg: Path) -> list[tuple]:
    env = {**os.environ, "DOCKER_HOST": host, "DOCKER_CONFIG": str(cfg)}
    env.pop("DOCKER_CONTEXT", None)
    since = f"{time.time():.6f}"
    results = []
    for argv, stdin in steps:
        argv = [a.replace("{since}", since).replace("{until}", f"{time.time():.6f}") for a in argv]
        p = subprocess.run(
            [*cli, *argv],
            input=stdin if stdin is not None else b"",
            capture_output=True,
            env=env,
            timeout=60,
        )
        results.append(
            (
                argv,
                normalise(p.stdout.decode(errors="replace")),
                normalise(p.stderr.decode(errors="replace")),
                p.returncode,
            )
        )
    return results


def assert_same_steps(want: list[tuple], got: list[tuple]) -> None:
    """Each step of run_pass's passes gave the same (stdout, stderr, status) with both
    clients; the message lists every step that did not."""
    mismatches = [
        f"step {' '.join(w[0])!r}:\n  docker:   rc={w[3]} out={w[1]!r} err={w[2]!r}\n"
        f"  dockerpy: rc={g[3]} out={g[1]!r} err={g[2]!r}"
        for w, g in zip(want, got, strict=True)
        if w[1:] != g[1:]
    ]
    assert not mismatches, "\n".join(mismatches)


def cleanup(host: str, cfg: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": host, "DOCKER_CONFIG": str(cfg)}
    ids = subprocess.run(
        [docker_cli(), "ps", "-aq", "--filter", "name=cmp-"], capture_output=True, env=env
    ).stdout.split()
    if ids:
        subprocess.run(
            [docker_cli(), "rm", "-f", *[i.decode() for i in ids]], capture_output=True, env=env
        )
    subprocess.run([docker_cli(), "rmi", "cmp-tag:v1"], capture_output=True, env=env)


@pytest.fixture(scope="module")
def compiled() -> None:
    """Byte-compile the CLI once: this session may run with PYTHONDONTWRITEBYTECODE."""
    subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), "-m", "compileall", "-q", str(REPO / "cli")],
        check=True,
        capture_output=True,
    )


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_output_as_docker(name: str, daemon, tmp_path: Path, compiled) -> None:
    assert DOCKERPY.exists(), "pip install -e . first (the dockerpy console script)"
    steps = SCENARIOS[name]
    cleanup(daemon.host, tmp_path)
    want = run_pass([docker_cli()], steps, daemon.host, tmp_path)
    cleanup(daemon.host, tmp_path)
    got = run_pass([str(DOCKERPY)], steps, daemon.host, tmp_path)
    cleanup(daemon.host, tmp_path)
    assert_same_steps(want, got)


def test_detached_run_prints_the_id_and_ps_shows_it(daemon, tmp_path: Path, compiled) -> None:
    env = {**os.environ, "DOCKER_HOST": daemon.host, "DOCKER_CONFIG": str(tmp_path)}
    run = subprocess.run(
        [str(DOCKERPY), "run", "-d", "--name", "cmp-detached", IMAGE, "sleep", "30"],
        capture_output=True,
        env=env,
        timeout=60,
    )
    try:
        assert run.returncode == 0, run.stderr
        cid = run.stdout.decode().strip()
        assert re.fullmatch(r"[0-9a-f]{64}", cid)
        ps = subprocess.run(
            [str(DOCKERPY), "ps", "-q", "--no-trunc", "--filter", "name=cmp-detached"],
            capture_output=True,
            env=env,
        )
        assert ps.stdout.decode().split() == [cid]
    finally:
        cleanup(daemon.host, tmp_path)
