"""docker build (the classic builder) with the real docker CLI and docker-py.

The docker CLI here has no buildx plugin, so `docker build` speaks the legacy builder API
and prints dockerd's classic stream, exactly what these tests read.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from .conftest import IMAGE, ok, out
from .daemon import Daemon, docker_cli
from .registry import free_port

MULTI_STAGE = """\
# syntax=docker/dockerfile:1
ARG BASE=busybox:latest
FROM $BASE AS builder
ARG GREETING=hello
WORKDIR /src
COPY app/ ./
RUN echo "$GREETING from $(cat name.txt)" > /greeting \\
 && mkdir -p /out && cp /greeting /out/
RUN <<EOF
echo heredoc > /out/heredoc.txt
EOF

FROM ${BASE}
LABEL org.example.stage=final maintainer.note="two words"
MAINTAINER someone@example.com
ENV APP_HOME=/app PATH=/app/bin:$PATH
ARG GREETING
USER root
WORKDIR $APP_HOME
COPY --from=builder /out/ ./
COPY --chown=1000:1000 app/name.txt owned.txt
ADD files.tar /added/
COPY <<EOF /etc/motd
built by dockerpy
EOF
EXPOSE 8080/tcp 9090/udp
VOLUME ["/data"]
SHELL ["/bin/sh", "-c"]
HEALTHCHECK --interval=30s --timeout=3s CMD true
STOPSIGNAL SIGTERM
ONBUILD RUN echo triggered > /onbuild.txt
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /app/greeting"]
"""


def _files_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"from a tar\n"
        info = tarfile.TarInfo("inner/file.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _context(tmp_path: Path, dockerfile: str, files: dict[str, bytes] | None = None) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "Dockerfile").write_text(dockerfile)
    for name, data in (files or {}).items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return tmp_path


def _multi_stage_context(tmp_path: Path) -> Path:
    return _context(
        tmp_path,
        MULTI_STAGE,
        {"app/name.txt": b"dockerpy\n", "app/extra.txt": b"x\n", "files.tar": _files_tar()},
    )


def _build(cli, context: Path, *args: str):
    return cli("build", *args, str(context), timeout=180)


def _build_until_started(host: str, context: Path, *args: str) -> subprocess.Popen[bytes]:
    """`docker build` in the background, returned once its RUN has printed `started`."""
    proc = subprocess.Popen(
        [docker_cli(), "-H", host, "build", *args, str(context)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == b"started":
            break
    return proc


def _image_id(cli, name: str) -> str:
    return out(ok(cli("image", "inspect", "--format", "{{.Id}}", name))).strip()


def test_multi_stage_build_with_every_instruction(cli, names, tmp_path):
    tag = names("build-multi")
    context = _multi_stage_context(tmp_path)
    result = ok(_build(cli, context, "-t", f"{tag}:1"))
    log = out(result)
    assert "Step 1/" in log and ": FROM $BASE AS builder" in log
    assert " ---> Running in " in log
    assert "Successfully built " in log
    assert f"Successfully tagged {tag}:1" in log
    run = ok(cli("run", "--rm", f"{tag}:1"))
    assert out(run) == "hello from dockerpy\n"
    shell = ["run", "--rm", "--entrypoint", "sh", f"{tag}:1", "-c"]
    assert out(ok(cli(*shell, "cat /app/heredoc.txt /etc/motd"))) == (
        "heredoc\nbuilt by dockerpy\n"
    )
    assert out(ok(cli(*shell, "stat -c '%u:%g' /app/owned.txt"))).strip() == "1000:1000"
    assert out(ok(cli(*shell, "cat /added/inner/file.txt"))) == "from a tar\n"
    info = json.loads(out(ok(cli("image", "inspect", f"{tag}:1"))))[0]
    config = info["Config"]
    assert config["Labels"] == {"org.example.stage": "final", "maintainer.note": "two words"}
    assert config["WorkingDir"] == "/app"
    assert "APP_HOME=/app" in config["Env"]
    assert any(e.startswith("PATH=/app/bin:") for e in config["Env"])
    assert set(config["ExposedPorts"]) == {"8080/tcp", "9090/udp"}
    assert config["Volumes"] == {"/data": {}}
    assert config["Entrypoint"] == ["/bin/sh", "-c"]
    assert config["Cmd"] == ["cat /app/greeting"]
    assert config["StopSignal"] == "SIGTERM"
    assert config["Healthcheck"]["Test"] == ["CMD-SHELL", "true"]
    assert config["Healthcheck"]["Interval"] == 30_000_000_000
    assert config["OnBuild"] == ["RUN echo triggered > /onbuild.txt"]
    assert info["Author"] == "someone@example.com"
    history = json.loads(
        out(ok(cli("history", "--no-trunc", "--format", "{{json .}}", f"{tag}:1"))).splitlines()[0]
    )
    assert "#(nop)" in history["CreatedBy"] and "CMD" in history["CreatedBy"]


def test_second_build_is_fully_cached_and_a_changed_file_rebuilds_from_its_step(
    cli, names, tmp_path
):
    tag = names("build-cache")
    context = _multi_stage_context(tmp_path)
    ok(_build(cli, context, "-t", f"{tag}:1"))
    first = _image_id(cli, f"{tag}:1")
    again = ok(_build(cli, context, "-t", f"{tag}:2"))
    log = out(again)
    assert " ---> Running in " not in log
    steps = log.count("Step ")
    froms = log.count(": FROM ")
    meta_args = 1  # ARG BASE before the first FROM: a step with no image
    assert log.count(" ---> Using cache") == steps - froms - meta_args
    assert _image_id(cli, f"{tag}:2") == first

    (context / "app" / "name.txt").write_text("changed\n")
    rebuilt = out(ok(_build(cli, context, "-t", f"{tag}:1")))
    before_copy, _, after_copy = rebuilt.partition("COPY app/ ./")
    assert " ---> Using cache" in before_copy  # ARG GREETING and WORKDIR
    assert " ---> Using cache" not in after_copy.split("Step ")[1]  # the COPY itself reran
    assert " ---> Running in " in after_copy
    assert out(ok(cli("run", "--rm", f"{tag}:1"))) == "hello from changed\n"


def test_no_cache_runs_every_step(cli, names, tmp_path):
    tag = names("build-nocache")
    context = _context(tmp_path, f"FROM {IMAGE}\nRUN echo one > /one\n")
    ok(_build(cli, context, "-t", f"{tag}:1"))
    log = out(ok(_build(cli, context, "--no-cache", "-t", f"{tag}:2")))
    assert "Using cache" not in log and " ---> Running in " in log
    assert _image_id(cli, f"{tag}:1") != _image_id(cli, f"{tag}:2")


def test_failing_run_reports_dockerd_message_and_exit_code(cli, daemon, names, tmp_path):
    context = _context(tmp_path, f"FROM {IMAGE}\nRUN echo to-stderr >&2; exit 3\n")
    before = set(out(ok(cli("ps", "-aq", "--no-trunc"))).split())
    result = _build(cli, context, "-t", f"{names('build-fail')}:1")
    assert result.returncode == 3
    text = result.stdout.decode() + result.stderr.decode()
    assert "to-stderr" in text
    assert "The command '/bin/sh -c echo to-stderr >&2; exit 3' returned a non-zero code: 3" in text
    left = set(out(ok(cli("ps", "-aq", "--no-trunc"))).split()) - before
    assert len(left) == 1  # dockerd keeps the failed step's container (no --force-rm)
    cli("rm", "-f", *left)
    forced = _build(cli, context, "--force-rm")
    assert forced.returncode == 3
    assert set(out(ok(cli("ps", "-aq", "--no-trunc"))).split()) - before == set()


def test_rm_false_keeps_intermediate_containers(cli, tmp_path):
    before = set(out(ok(cli("ps", "-aq", "--no-trunc"))).split())
    context = _context(tmp_path, f"FROM {IMAGE}\nRUN true\n")
    log = out(ok(_build(cli, context, "--no-cache", "--rm=false")))
    assert "Removing intermediate container" not in log
    kept = set(out(ok(cli("ps", "-aq", "--no-trunc"))).split()) - before
    assert len(kept) == 1
    ok(cli("rm", "-f", *kept))


def test_parse_error_is_an_http_error_with_the_line(cli, tmp_path):
    context = _context(tmp_path, f"FROM {IMAGE}\nFOO bar\n")
    result = _build(cli, context)
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "Error response from daemon" in err
    assert "line 2" in err and "unknown instruction" in err.lower()


def test_dockerignore_excludes_files_from_copy(cli, names, tmp_path):
    tag = names("build-ignore")
    context = _context(
        tmp_path,
        f"FROM {IMAGE}\nCOPY . /ctx/\n",
        {
            "keep.txt": b"k",
            "secret.key": b"s",
            "logs/a.log": b"l",
            ".dockerignore": b"*.key\nlogs\n",
        },
    )
    ok(_build(cli, context, "-t", f"{tag}:1"))
    listing = out(ok(cli("run", "--rm", f"{tag}:1", "ls", "-a", "/ctx")))
    assert "keep.txt" in listing
    assert "secret.key" not in listing and "logs" not in listing
    missing = _context(
        tmp_path / "m",
        f"FROM {IMAGE}\nCOPY secret.key /\n",
        {"secret.key": b"s", ".dockerignore": b"secret.key\n"},
    )
    result = _build(cli, missing)
    assert result.returncode != 0
    assert "secret.key" in result.stdout.decode() + result.stderr.decode()


def test_copy_cannot_escape_the_context(cli, names, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("host secret\n")
    context = _context(tmp_path / "ctx", f"FROM {IMAGE}\nCOPY link.txt /copied\n")
    os.symlink(str(outside), context / "link.txt")
    tag = names("build-escape")
    result = _build(cli, context, "-t", f"{tag}:1")
    if result.returncode == 0:  # the link is copied as a link, never its target's content
        cat = cli("run", "--rm", f"{tag}:1", "cat", "/copied")
        assert b"host secret" not in cat.stdout
    parent = _context(tmp_path / "ctx2", f"FROM {IMAGE}\nCOPY ../outside.txt /x\n")
    escaped = _build(cli, parent, "-t", f"{tag}:2")
    if escaped.returncode == 0:
        cat = cli("run", "--rm", f"{tag}:2", "cat", "/x")
        assert b"host secret" not in cat.stdout


def test_onbuild_triggers_run_in_child_builds(cli, names, tmp_path):
    tag = names("build-onbuild")
    parent = _context(tmp_path / "p", f"FROM {IMAGE}\nONBUILD RUN echo triggered > /trigger\n")
    ok(_build(cli, parent, "-t", f"{tag}:1"))
    child = _context(tmp_path / "c", f"FROM {tag}:1\nRUN cat /trigger\n")
    log = out(ok(_build(cli, child, "-t", f"{tag}:2")))
    assert "# Executing 1 build trigger" in log
    assert out(ok(cli("run", "--rm", f"{tag}:2", "cat", "/trigger"))) == "triggered\n"
    config = json.loads(out(ok(cli("image", "inspect", f"{tag}:2"))))[0]["Config"]
    assert not config.get("OnBuild")


def test_quiet_and_iidfile(cli, names, tmp_path):
    tag = names("build-quiet")
    context = _context(tmp_path / "ctx", f"FROM {IMAGE}\nRUN echo noisy\n")
    iid = tmp_path / "iid"
    result = ok(_build(cli, context, "-q", "--iidfile", str(iid), "-t", f"{tag}:1"))
    printed = out(result).strip()
    assert printed.startswith("sha256:") and "noisy" not in out(result)
    assert iid.read_text().strip() == printed == _image_id(cli, f"{tag}:1")


def test_dockerfile_from_stdin_and_custom_name(cli, names, tmp_path):
    tag = names("build-stdin")
    context = _context(tmp_path, f"FROM {IMAGE}\n", {"data.txt": b"ctx\n"})
    dockerfile = f"FROM {IMAGE}\nCOPY data.txt /data.txt\n".encode()
    ok(cli("build", "-t", f"{tag}:1", "-f", "-", str(context), input=dockerfile, timeout=120))
    assert out(ok(cli("run", "--rm", f"{tag}:1", "cat", "/data.txt"))) == "ctx\n"
    (context / "sub").mkdir()
    (context / "sub" / "Other.dockerfile").write_text(f"FROM {IMAGE}\nLABEL which=other\n")
    ok(_build(cli, context, "-f", str(context / "sub" / "Other.dockerfile"), "-t", f"{tag}:2"))
    labels = out(ok(cli("image", "inspect", "--format", "{{json .Config.Labels}}", f"{tag}:2")))
    assert json.loads(labels) == {"which": "other"}


def test_unused_build_arg_warning_and_target(cli, names, tmp_path):
    tag = names("build-args")
    context = _context(
        tmp_path,
        f"FROM {IMAGE} AS first\nARG USED=default\nRUN echo $USED > /used\n"
        f"FROM {IMAGE} AS second\nRUN echo second > /second\n",
    )
    result = ok(
        _build(
            cli,
            context,
            "--build-arg",
            "USED=given",
            "--build-arg",
            "NOPE=1",
            "--target",
            "first",
            "-t",
            f"{tag}:1",
        )
    )
    text = result.stdout.decode() + result.stderr.decode()
    assert "[Warning] One or more build-args [NOPE] were not consumed" in text
    assert "/second" not in text
    assert out(ok(cli("run", "--rm", f"{tag}:1", "cat", "/used"))) == "given\n"
    missing = _build(cli, context, "--target", "nowhere")
    assert missing.returncode != 0
    assert "failed to reach build target nowhere in Dockerfile" in missing.stderr.decode()


def test_docker_py_build_with_buildargs_labels_and_logs(client, names):
    tag = names("build-py")
    dockerfile = f"FROM {IMAGE}\nARG WHO\nRUN echo hi $WHO > /hi\nCMD cat /hi\n"
    image, logs = client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()),
        tag=f"{tag}:1",
        buildargs={"WHO": "py"},
        labels={"built.by": "docker-py"},
        rm=True,
    )
    streamed = "".join(entry.get("stream", "") for entry in logs)
    assert "Step 1/" in streamed and "Successfully built" in streamed
    assert image.labels == {"built.by": "docker-py"}
    assert f"{tag}:1" in image.tags
    assert client.containers.run(f"{tag}:1", remove=True) == b"hi py\n"
    with pytest.raises(docker.errors.BuildError) as failure:
        client.images.build(fileobj=io.BytesIO(f"FROM {IMAGE}\nRUN false\n".encode()), forcerm=True)
    assert "returned a non-zero code: 1" in str(failure.value)


def test_from_an_image_only_in_a_registry_is_pulled_during_the_build(
    cli, image, names, registry, tmp_path
):
    remote = f"{registry.host}/{names('build-base')}:1"
    image(remote)
    ok(cli("push", remote))
    ok(cli("rmi", remote))
    context = _context(tmp_path, f"FROM {remote}\nRUN echo pulled > /pulled\n")
    tag = names("build-pull")
    log = out(ok(_build(cli, context, "-t", f"{tag}:1")))
    assert "Pull complete" in log or "Downloaded newer image" in log
    assert out(ok(cli("run", "--rm", f"{tag}:1", "cat", "/pulled"))) == "pulled\n"
    ok(cli("rmi", remote))


def test_cache_from_limits_the_cache_to_the_named_images(cli, names, tmp_path):
    tag = names("build-cachefrom")
    context = _context(tmp_path, f"FROM {IMAGE}\nRUN echo one > /one\n")
    ok(_build(cli, context, "-t", f"{tag}:1"))
    other = names("build-other")
    log = out(ok(_build(cli, context, "--cache-from", f"{other}:1", "-t", f"{tag}:2")))
    assert "Using cache" not in log  # no trusted image: the cache is not used
    log = out(ok(_build(cli, context, "--cache-from", f"{tag}:2", "-t", f"{tag}:1")))
    assert "Using cache" in log
    assert _image_id(cli, f"{tag}:1") == _image_id(cli, f"{tag}:2")


def test_client_hanging_up_cancels_the_build_and_its_container(cli, daemon, tmp_path):
    before = set(out(ok(cli("ps", "-aq", "--no-trunc"))).split())
    context = _context(tmp_path, f"FROM {IMAGE}\nRUN echo started; sleep 300\n")
    proc = _build_until_started(daemon.host, context, "--no-cache")
    try:
        started = set(out(ok(cli("ps", "-q", "--no-trunc"))).split()) - before
        assert len(started) == 1
    finally:
        proc.kill()
        proc.wait()
    left = started
    for _ in range(300):  # the daemon notices the hang-up, kills and removes the container
        left = set(out(ok(cli("ps", "-aq", "--no-trunc"))).split()) & started
        if not left:
            break
        time.sleep(0.1)
    assert not left


def test_superseded_build_is_build_cache_that_builder_prune_reclaims(cli, client, names, tmp_path):
    tag = names("build-prune")
    context = _context(
        tmp_path, f"FROM {IMAGE}\nCOPY data.bin /data.bin\n", {"data.bin": b"1" * 4096}
    )
    ok(_build(cli, context, "-t", f"{tag}:1"))
    old = _image_id(cli, f"{tag}:1")
    (context / "data.bin").write_bytes(b"2" * 4096)
    ok(_build(cli, context, "-t", f"{tag}:1"))  # the old result is left untagged: cache
    records = client.df()["BuildCache"]
    ours = [r for r in records if old.removeprefix("sha256:").startswith(r["ID"])]
    assert ours and ours[0]["Size"] >= 4096 and ours[0]["InUse"] is False
    assert "COPY file:" in ours[0]["Description"]
    result = out(ok(cli("builder", "prune", "-f")))
    assert "Total reclaimed space" in result
    assert cli("image", "inspect", old).returncode != 0
    assert _image_id(cli, f"{tag}:1") != old  # the tagged build is untouched


@pytest.fixture
def web_files(tmp_path) -> Iterator[tuple[str, Path]]:
    """A plain HTTP server on 127.0.0.1 serving a directory: the only web ADD may reach."""
    root = tmp_path / "www"
    root.mkdir()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", root
    finally:
        server.kill()
        server.wait()


def test_add_from_a_url_downloads_without_unpacking(cli, names, tmp_path, web_files):
    base, root = web_files
    (root / "tool.tar").write_bytes(_files_tar())
    (root / "notes.txt").write_text("remote notes\n")
    context = _context(
        tmp_path / "ctx",
        f"FROM {IMAGE}\nADD {base}/notes.txt /remote/\nADD {base}/tool.tar /remote/\n",
    )
    tag = names("build-addurl")
    ok(_build(cli, context, "-t", f"{tag}:1"))
    shell = ["run", "--rm", f"{tag}:1", "sh", "-c"]
    assert out(ok(cli(*shell, "cat /remote/notes.txt"))) == "remote notes\n"
    listing = out(ok(cli(*shell, "ls /remote; stat -c %a /remote/notes.txt"))).split()
    assert listing == ["notes.txt", "tool.tar", "600"]  # a downloaded tar stays a tar
    missing = _context(tmp_path / "m", f"FROM {IMAGE}\nADD {base}/nothing.txt /x\n")
    result = _build(cli, missing)
    assert result.returncode != 0 and "404" in result.stdout.decode() + result.stderr.decode()
    copy = _context(tmp_path / "c", f"FROM {IMAGE}\nCOPY {base}/notes.txt /x\n")
    result = _build(cli, copy)
    assert "source can't be a URL for COPY" in result.stdout.decode() + result.stderr.decode()


def test_daemon_killed_during_a_build_restarts_clean(busybox_tar, tmp_path):
    """kill -9 while a RUN step runs: after the restart no build image is half made, the
    store's tmp is empty and nothing stays mounted under the data root."""
    d = Daemon()
    d.start()
    try:
        ok(d.cli("import", busybox_tar, IMAGE))
        images_before = out(ok(d.cli("images", "-aq"))).split()
        context = _context(
            tmp_path, f"FROM {IMAGE}\nCOPY Dockerfile /\nRUN echo started; sleep 300\n"
        )
        proc = _build_until_started(d.host, context)
        try:
            d.kill9()
        finally:
            proc.kill()
            proc.wait()
        d.start()
        tmp = d.data_root / "tmp"
        assert not tmp.exists() or list(tmp.iterdir()) == []
        mounts = Path("/proc/self/mountinfo").read_text()
        assert f" {d.data_root}/tmp/" not in mounts
        after = out(ok(d.cli("images", "-aq"))).split()
        assert len(after) == len(images_before) + 1  # the COPY step's image, complete
        ok(d.cli("build", "-q", str(_context(tmp_path / "again", f"FROM {IMAGE}\nRUN true\n"))))
    finally:
        d.cleanup()


def test_remote_context_url_is_fetched_by_the_daemon(client, names, web_files):
    """docker-py sends a URL path as `remote`: the daemon downloads the tar context itself."""
    base, root = web_files
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in {
            "Dockerfile": f"FROM {IMAGE}\nCOPY hello.txt /hello.txt\n".encode(),
            "hello.txt": b"from a remote context\n",
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (root / "context.tar.gz").write_bytes(buf.getvalue())
    tag = names("build-remote")
    image, _ = client.images.build(path=f"{base}/context.tar.gz", tag=f"{tag}:1")
    output = client.containers.run(image.id, ["cat", "/hello.txt"], remove=True)
    assert output == b"from a remote context\n"


def test_a_bad_instruction_anywhere_fails_before_any_step(cli, tmp_path):
    context = _context(tmp_path, f"FROM {IMAGE}\nRUN echo ran-a-step\nSHELL /bin/sh -c\n")
    result = _build(cli, context)
    assert result.returncode == 1
    assert "SHELL requires the arguments to be in JSON form" in result.stderr.decode()
    assert b"ran-a-step" not in result.stdout
