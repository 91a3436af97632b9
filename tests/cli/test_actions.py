"""cli.actions against a fake API client: the requests each command makes (options → REST),
the output it prints, and its exit status, with no daemon."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from cli.actions import create as create_act
from cli.actions import image as img
from cli.actions import inspect as inspect_act
from cli.actions import lifecycle as lifecycle_act
from cli.actions import ps as ps_act
from cli.actions import run as run_act
from cli.api import APIError, CLIError
from cli.env import Env


class FakeAPI:
    """Records calls; answers from a table of (method, path) → value or APIError."""

    version = "1.51"

    def __init__(self, answers: dict[tuple[str, str], Any] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[tuple[str, str, Any, Any]] = []

    def _answer(self, method: str, path: str, params: Any = None, body: Any = None) -> Any:
        self.calls.append((method, path, params, body))
        value = self.answers.get((method, path))
        if isinstance(value, APIError):
            raise value
        return value

    def get(self, path: str, params: Any = None) -> Any:
        return self._answer("GET", path, params)

    def get_raw(self, path: str, params: Any = None) -> bytes:
        return self._answer("GET", path, params)

    def post(self, path: str, params: Any = None, json_body: Any = None, headers: Any = None):
        return self._answer("POST", path, params, json_body)

    def delete(self, path: str, params: Any = None) -> Any:
        return self._answer("DELETE", path, params)


def make_env(api: FakeAPI, config: dict[str, Any] | None = None) -> Env:
    return Env(
        lambda: api,
        out=io.StringIO(),
        err=io.StringIO(),
        stdin=io.BytesIO(),
        config_path="/nonexistent",
        config=config or {},
    )


CONTAINER = {
    "Id": "16006ff5e541c96af67a3f6acd6ae5b6587bbd4ad026d874617111031d8a3b0c",
    "Names": ["/s1"],
    "Image": "busybox",
    "ImageID": "sha256:654d1a11ecef08dd650695963100e5d9e04cda187eff324959a088ae8fbfdfa9",
    "Command": "echo hello world this is a long command line ok",
    "Created": 0,
    "Ports": [],
    "Labels": {"a": "1"},
    "State": "exited",
    "Status": "Exited (3) 2 minutes ago",
    "SizeRw": 0,
    "SizeRootFs": 1983000,
}


def test_ps_table_matches_docker_layout() -> None:
    api = FakeAPI({("GET", "/containers/json"): [CONTAINER]})
    env = make_env(api)
    assert ps_act.ps(env, ps_act.PsOptions(all=True, size=True)) == 0
    assert api.calls[0][2] == {"all": "1", "limit": None, "size": "1", "filters": None}
    lines = env.out.getvalue().splitlines()
    assert lines[0].startswith("CONTAINER ID   IMAGE     COMMAND                  CREATED   ")
    assert lines[0].endswith("   STATUS                     PORTS     NAMES     SIZE")
    assert lines[1].startswith('16006ff5e541   busybox   "echo hello world th…"   ')
    assert lines[1].endswith("s1        0B (virtual 1.98MB)")


def test_ps_quiet_filters_and_format_warning() -> None:
    api = FakeAPI({("GET", "/containers/json"): [CONTAINER]})
    env = make_env(api)
    ps_act.ps(
        env, ps_act.PsOptions(quiet=True, latest=True, filters=["name=s1"], format="{{.Names}}")
    )
    assert env.out.getvalue() == "16006ff5e541\n"
    assert env.err.getvalue() == (
        "WARNING: Ignoring custom format, because both --format and --quiet are set.\n"
    )
    params = api.calls[0][2]
    assert params["limit"] == "1" and json.loads(params["filters"]) == {"name": {"s1": True}}


def test_ps_uses_config_psformat_and_json() -> None:
    api = FakeAPI({("GET", "/containers/json"): [CONTAINER]})
    env = make_env(api, {"psFormat": '{{.Names}}|{{.Label "a"}}'})
    ps_act.ps(env, ps_act.PsOptions())
    assert env.out.getvalue() == "s1|1\n"
    env = make_env(api)
    ps_act.ps(env, ps_act.PsOptions(format="json"))
    doc = json.loads(env.out.getvalue())
    assert doc["Names"] == "s1" and doc["Platform"] is None and list(doc) == sorted(doc)


def test_images_rows_per_tag_and_dangling() -> None:
    images = [
        {
            "Id": "sha256:" + "a" * 64,
            "RepoTags": ["busybox:latest", "docker.io/library/x:1"],
            "RepoDigests": [],
            "Created": 0,
            "Size": 1983000,
            "Containers": -1,
        },
        {"Id": "sha256:" + "b" * 64, "RepoTags": [], "RepoDigests": [], "Created": 0, "Size": 10},
    ]
    api = FakeAPI({("GET", "/images/json"): images})
    env = make_env(api)
    img.images(env, img.ImagesOptions(format="{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}"))
    assert env.out.getvalue() == (
        "busybox:latest aaaaaaaaaaaa 1.98MB\n"
        "x:1 aaaaaaaaaaaa 1.98MB\n"
        "<none>:<none> bbbbbbbbbbbb 10B\n"
    )


def test_run_detached_builds_docker_create_body() -> None:
    api = FakeAPI(
        {
            ("POST", "/containers/create"): {"Id": "abc", "Warnings": ["careful"]},
            ("POST", "/containers/abc/start"): None,
        }
    )
    env = make_env(api)
    cfg = create_act.ContainerConfig(
        image="busybox",
        command=["sleep", "1"],
        name="web",
        env=["A=1"],
        label=["k=v", "flag"],
        workdir="/w",
        user="1:2",
        hostname="h",
        entrypoint="",
        restart="on-failure:3",
        stop_signal="SIGUSR1",
        stop_timeout=5,
        init=True,
        privileged=True,
        read_only=True,
        cap_add=["NET_ADMIN"],
        cap_drop=["ALL"],
        memory=512 << 20,
        cpus=1_500_000_000,
        pids_limit=10,
        health_cmd="true",
        health_interval=30_000_000_000,
        health_retries=2,
    )
    assert run_act.run(env, run_act.RunOptions(cfg, detach=True)) == 0
    assert env.out.getvalue() == "abc\n"
    assert env.err.getvalue() == "WARNING: careful\n"
    _, _path, params, body = api.calls[0]
    assert params == {"name": "web", "platform": None}
    assert body["Cmd"] == ["sleep", "1"] and body["Entrypoint"] == [""]
    assert body["Env"] == ["A=1"] and body["Labels"] == {"k": "v", "flag": ""}
    assert (body["WorkingDir"], body["User"], body["Hostname"]) == ("/w", "1:2", "h")
    assert body["StopSignal"] == "SIGUSR1" and body["StopTimeout"] == 5
    assert body["Healthcheck"]["Test"] == ["CMD-SHELL", "true"]
    assert body["Healthcheck"]["Interval"] == 30_000_000_000
    assert not body["AttachStdout"] and not body["OpenStdin"]
    host = body["HostConfig"]
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert host["Init"] is True and host["Privileged"] and host["ReadonlyRootfs"]
    assert host["CapAdd"] == ["CAP_NET_ADMIN"] and host["CapDrop"] == ["ALL"]
    assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == (512 << 20, 1_500_000_000, 10)
    assert api.calls[1][:2] == ("POST", "/containers/abc/start")


def test_run_errors_like_docker() -> None:
    env = make_env(FakeAPI())
    with pytest.raises(CLIError) as e:
        run_act.run(
            env,
            run_act.RunOptions(
                create_act.ContainerConfig(image="x", rm=True, restart="always"),
                detach=True,
            ),
        )
    assert e.value.status == 125
    assert str(e.value).startswith("docker: conflicting options: cannot specify both --restart")
    missing = APIError(400, 'failed to create task: exec: "nosuch": executable file not found')
    api = FakeAPI(
        {("POST", "/containers/create"): {"Id": "abc"}, ("POST", "/containers/abc/start"): missing}
    )
    with pytest.raises(CLIError) as e:
        run_act.run(
            make_env(api), run_act.RunOptions(create_act.ContainerConfig(image="x"), detach=True)
        )
    assert e.value.status == 127
    assert run_act.start_error_status("exec: permission denied") == 126


def test_batch_verbs_report_each_failure() -> None:
    api = FakeAPI({("POST", "/containers/nope/stop"): APIError(404, "No such container: nope")})
    env = make_env(api)
    assert lifecycle_act.stop(env, lifecycle_act.StopOptions(["a", "nope", "b"], timeout=1)) == 1
    assert env.out.getvalue() == "a\nb\n"
    assert env.err.getvalue() == "Error response from daemon: No such container: nope\n"
    assert api.calls[0][2] == {"t": 1, "signal": None}
    # rm -f: a missing container is reported but is not a failure
    api = FakeAPI({("DELETE", "/containers/nope"): APIError(404, "No such container: nope")})
    env = make_env(api)
    assert lifecycle_act.rm(env, ["nope"], force=True) == 0
    assert env.err.getvalue() == "Error response from daemon: No such container: nope\n"


def test_inspect_raw_indent_and_missing_object() -> None:
    raw = b'{"Id":"abc","Config":{"Labels":{}}}'
    api = FakeAPI(
        {
            ("GET", "/containers/s1/json"): raw,
            ("GET", "/containers/nope/json"): APIError(404, "No such container: nope"),
            ("GET", "/images/nope/json"): APIError(404, "No such image: nope"),
            ("GET", "/networks/nope"): APIError(404, "network nope not found"),
            ("GET", "/volumes/nope"): APIError(404, "get nope: no such volume"),
        }
    )
    env = make_env(api)
    assert inspect_act.inspect(env, inspect_act.InspectOptions(["s1", "nope"])) == 1
    assert env.out.getvalue() == (
        '[\n    {\n        "Id": "abc",\n        "Config": {\n            "Labels": {}\n'
        "        }\n    }\n]\n"
    )
    assert env.err.getvalue() == "Error: No such object: nope\n"
    env = make_env(api)
    assert inspect_act.inspect(env, inspect_act.InspectOptions(["nope"], type="container")) == 1
    assert env.out.getvalue() == "[]\n"
    assert env.err.getvalue() == "Error response from daemon: No such container: nope\n"
    env = make_env(api)
    assert (
        inspect_act.inspect(
            env, inspect_act.InspectOptions(["s1"], format="{{.Id}} {{json .Config}}")
        )
        == 0
    )
    assert env.out.getvalue() == 'abc {"Labels":{}}\n'


def test_rmi_and_tag() -> None:
    api = FakeAPI(
        {
            ("DELETE", "/images/busybox"): [
                {"Untagged": "busybox:latest"},
                {"Deleted": "sha256:aaa"},
            ],
            ("POST", "/images/busybox/tag"): None,
        }
    )
    env = make_env(api)
    assert img.rmi(env, ["busybox"]) == 0
    assert env.out.getvalue() == "Untagged: busybox:latest\nDeleted: sha256:aaa\n"
    img.tag(env, "busybox", "localhost:5000/me/bb")
    assert api.calls[-1][2] == {"repo": "localhost:5000/me/bb", "tag": "latest"}


def test_prune_prompts_unless_forced() -> None:
    api = FakeAPI(
        {("POST", "/containers/prune"): {"ContainersDeleted": ["x"], "SpaceReclaimed": 1500}}
    )
    env = make_env(api)
    env.stdin = io.BytesIO(b"n\n")
    assert lifecycle_act.prune(env, False, []) == 0
    assert api.calls == [] and env.out.getvalue().endswith("[y/N] ")
    env = make_env(api)
    lifecycle_act.prune(env, True, [])
    assert env.out.getvalue() == "Deleted Containers:\nx\n\nTotal reclaimed space: 1.5kB\n"


class _FakeResponse:
    def __init__(self, doc: Any) -> None:
        self.doc = doc

    def json(self) -> Any:
        return self.doc

    def close(self) -> None:
        pass


def test_search_table_as_docker_formats_it() -> None:
    """docker search's searchContext: description flattened and cut at 45 cells, [OK] for
    official images, `true`/`false` in JSON."""
    from cli.actions import registry

    results = [
        {"name": "busybox", "description": "Busybox base image.\nSmall.", "star_count": 3,
         "is_official": True},
        {"name": "me/tool", "description": "x" * 60, "star_count": 0, "is_official": False},
    ]  # fmt: skip
    api = FakeAPI()
    api.request = lambda *a, **k: _FakeResponse(results)  # type: ignore[attr-defined]
    env = make_env(api)
    assert registry.search(env, "busybox", [], "", 0, False) == 0
    assert env.out.getvalue() == (
        "NAME      DESCRIPTION                                     STARS     OFFICIAL\n"
        "busybox   Busybox base image. Small.                      3         [OK]\n"
        "me/tool   " + "x" * 44 + "…   0         \n"
    )
    env = make_env(api)
    registry.search(env, "busybox", [], "{{json .}}", 0, True)
    first = json.loads(env.out.getvalue().splitlines()[0])
    assert first == {
        "Description": "Busybox base image. Small.",
        "IsOfficial": "true",
        "Name": "busybox",
        "StarCount": "3",
    }
