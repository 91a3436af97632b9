"""Odd input through the real docker CLI: `ps` filters as dockerd folds and checks them, and
names with characters a volume or container may not have. Each is refused with dockerd's
message (and a 4xx: the CLI's exit status 1), or answered as dockerd answers it.

The expected lists and messages were taken side by side from Debian's dockerd 20.10 on this
machine (hack/reference-dockerd), except where current dockerd answers 400 where 20.10 had a
500 (an error it did not classify).
"""

from __future__ import annotations

import uuid

import docker.errors
import pytest

from .conftest import IMAGE, ok, out


def _ps(cli, label: str, *args: str) -> list[str]:
    result = ok(cli("ps", "--format", "{{.Names}}", "--filter", f"label={label}", *args))
    return out(result).split()


@pytest.fixture
def boxes(cli):
    """f1..f3 created, f4 running (`--expose 80`, a volume at /data), f5 exited 0, f6 exited
    3, created in that order under one label; removed afterwards."""
    tag = f"odd={uuid.uuid4().hex[:8]}"
    prefix = f"odd-{tag[4:]}"
    volume = f"{prefix}-vol"
    names = [f"{prefix}-f{i}" for i in range(1, 7)]
    for name in names[:3]:
        ok(cli("create", "--label", tag, "--name", name, IMAGE, "true"))
    ok(
        cli(
            "run", "-d", "--label", tag, "--name", names[3], "--expose", "80",
            "-v", f"{volume}:/data", IMAGE, "sleep", "300",
        )
    )  # fmt: skip
    ok(cli("run", "--label", tag, "--name", names[4], IMAGE, "true"))
    cli("run", "--label", tag, "--name", names[5], IMAGE, "sh", "-c", "exit 3")
    yield tag, names, volume
    cli("rm", "-f", *names)
    cli("volume", "rm", volume)


def test_ps_filters_walk_the_list_as_dockerd(cli, boxes) -> None:
    tag, (f1, f2, f3, f4, f5, f6), volume = boxes
    assert _ps(cli, tag) == [f4]
    assert _ps(cli, tag, "-a") == [f6, f5, f4, f3, f2, f1]
    assert _ps(cli, tag, "-n", "2") == [f6, f5]  # a limit lists stopped containers too
    assert _ps(cli, tag, "--filter", f"before={f3}") == []  # before does not imply -a
    assert _ps(cli, tag, "-a", "--filter", f"before={f3}") == [f2, f1]
    assert _ps(cli, tag, "-a", "--filter", f"since={f3}") == [f6, f5, f4]
    assert _ps(cli, tag, "--filter", "status=exited") == [f6, f5]
    assert _ps(cli, tag, "-a", "--filter", "exited=0") == [f5]  # never-started f1..f3 are not
    assert _ps(cli, tag, "-a", "--filter", "exited=3", "--filter", "exited=0") == [f6, f5]
    assert _ps(cli, tag, "-a", "--filter", f"name=^{f1[:-1]}[26]$") == [f6, f2]
    assert _ps(cli, tag, "-a", "--filter", f"name=^/{f4}") == [f4]
    assert _ps(cli, tag, "-a", "--filter", f"volume={volume}") == [f4]
    assert _ps(cli, tag, "-a", "--filter", "volume=/data") == [f4]
    assert _ps(cli, tag, "--filter", "expose=70-90") == [f4]
    assert _ps(cli, tag, "--filter", "expose=80/udp") == []
    assert _ps(cli, tag, "-a", "--filter", "health=none", "--filter", "status=running") == [f4]
    assert _ps(cli, tag, "-a", "--filter", f"ancestor={IMAGE}", "-n", "1") == [f6]
    assert _ps(cli, tag, "-a", "--filter", "ancestor=no-such-image") == []
    f4_id = out(ok(cli("inspect", "-f", "{{.Id}}", f4))).strip()
    assert _ps(cli, tag, "--filter", f"id={f4_id[:12]}") == [f4]
    assert _ps(cli, tag, "--filter", f"id={f4_id[4:16]}") == []  # a prefix, not a substring
    assert _ps(cli, tag, "--filter", "is-task=false") == [f4]
    assert _ps(cli, tag, "--filter", "is-task=true") == []


@pytest.mark.parametrize(
    ("flt", "message"),
    [
        ("nope=x", "invalid filter 'nope'"),
        ("dangling=true", "invalid filter 'dangling'"),
        ("status=weird", "invalid filter 'status=weird'"),
        ("exited=x", 'strconv.Atoi: parsing "x": invalid syntax'),
        ("is-task=maybe", "invalid filter 'is-task=[maybe]'"),
        ("health=bogus", "Unrecognised filter value for health: bogus"),
        ("publish=80:80", "filter for 'publish' should not contain ':': 80:80"),
        (
            "publish=x",
            'error while looking up for publish x: strconv.ParseUint: parsing "x": invalid syntax',
        ),
        ("before=no-such-box", "No such container: no-such-box"),
    ],
)
def test_ps_refuses_bad_filters(cli, flt: str, message: str) -> None:
    result = cli("ps", "-a", "--filter", flt)
    assert result.returncode == 1
    assert result.stderr.decode().strip() == f"Error response from daemon: {message}"


_VOLUME_RULE = (
    'includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" '
    "are allowed. If you intended to pass a host directory, use absolute path"
)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a", "create a: volume name is too short, names should be at least two alphanumeric"),
        ("ü", f'create ü: "ü" {_VOLUME_RULE}'),
        ("..", f'create ..: ".." {_VOLUME_RULE}'),
        ("a:b", f'create a:b: "a:b" {_VOLUME_RULE}'),
        ("v" * 300, "create " + "v" * 300 + ": error while creating volume root path"),
    ],
)
def test_odd_volume_names_are_refused(cli, name: str, message: str) -> None:
    result = cli("volume", "create", name)
    assert result.returncode == 1
    assert result.stderr.decode().startswith(f"Error response from daemon: {message}")
    assert name not in out(ok(cli("volume", "ls", "-q"))).split()


def test_mount_sources_get_the_volume_rule(cli) -> None:
    result = cli("run", "--rm", "--mount", "type=volume,src=_x,dst=/x", IMAGE, "true")
    assert result.returncode == 125
    assert f'create _x: "_x" {_VOLUME_RULE}' in result.stderr.decode()


@pytest.mark.parametrize("name", ["a/b", "-x", "x y", "ü", ".x", "a\u202eb"])
def test_odd_container_names_are_refused(cli, name: str) -> None:
    result = cli("create", "--name", name, IMAGE, "true")
    assert result.returncode == 1
    assert (
        f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        in result.stderr.decode()
    )


# ------------------------------------------------------------- create, exec, kill, load


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--health-cmd", "true", "--health-interval", "1us"],
            "Interval in Healthcheck cannot be less than 1ms",
        ),
        (["--isolation", "hyperv"], "invalid isolation 'hyperv' on linux"),
        (["--runtime", "kata"], "unknown or invalid runtime name: kata"),
    ],
)
def test_create_refuses_what_dockerd_refuses(cli, flags: list[str], message: str) -> None:
    result = cli("create", *flags, IMAGE, "true")
    assert result.returncode == 1
    assert f"Error response from daemon: {message}" in result.stderr.decode()


def test_kill_rename_wait_and_exec_messages(cli, client, names) -> None:
    result = cli("kill", "no-such-box")
    assert result.stderr.decode().strip() == (
        "Error response from daemon: Cannot kill container: no-such-box: "
        "No such container: no-such-box"
    )
    first, second = names("odd"), names("odd")
    ok(cli("run", "-d", "--name", first, IMAGE, "sleep", "300"))
    ok(cli("create", "--name", second, IMAGE, "true"))
    clash = cli("rename", second, first)
    assert clash.returncode == 1
    assert "Error when allocating new name: Conflict. The container name" in clash.stderr.decode()
    with pytest.raises(docker.errors.APIError) as caught:
        client.api.wait(second, condition="bogus")
    assert caught.value.status_code == 400 and 'invalid condition: "bogus"' in str(caught.value)
    with pytest.raises(docker.errors.APIError) as caught:  # docker-py sends `detachKeys`
        client.api.exec_create(first, ["true"], detach_keys="bogus")
    assert caught.value.status_code == 400
    assert "Invalid escape keys (bogus) provided" in str(caught.value)


def test_a_refused_load_is_an_in_band_error(cli, client) -> None:
    """dockerd answers 200 and streams the error: docker-py raises ImageLoadError, the docker
    CLI prints it and exits 1."""
    with pytest.raises(docker.errors.ImageLoadError):
        client.images.load(b"this is not a tar archive at all" * 32)
    result = cli("load", input=b"garbage" * 100)
    assert result.returncode == 1
    assert result.stderr.decode().strip()
