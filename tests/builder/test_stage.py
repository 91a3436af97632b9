"""The `#(nop)` comments and the cache key: what `docker history` shows and the cache compares."""

from __future__ import annotations

from dockerpy_engine.build.buildargs import BuildArgs
from dockerpy_engine.build.cache import cache_key
from dockerpy_engine.build.stage import (
    DEFAULT_PATH,
    Stage,
    go_duration,
    go_list,
    go_quote_list,
    healthcheck_comment,
)


def test_go_formatting_of_lists():
    assert go_quote_list(["cat", "/greeting"]) == '["cat" "/greeting"]'
    assert go_quote_list(None) == "[]"
    assert go_list(["/bin/sh", "-c"]) == "[/bin/sh -c]"


def test_go_durations():
    assert go_duration(0) == "0s"
    assert go_duration(30 * 10**9) == "30s"
    assert go_duration(90 * 10**9) == "1m30s"
    assert go_duration(3600 * 10**9) == "1h0m0s"
    assert go_duration(500 * 10**6) == "500ms"


def test_healthcheck_comment_as_dockerd_records_it():
    health = {"Test": ["CMD-SHELL", "true"], "Interval": 30 * 10**9, "Timeout": 3 * 10**9}
    health["Retries"] = 3
    assert healthcheck_comment(health) == (
        'HEALTHCHECK &{["CMD-SHELL" "true"] "30s" "3s" "0s" "0s" \'\\x03\'}'
    )


def test_scratch_stage_gets_a_default_path_and_nop_comments():
    stage = Stage.begin("", 0, None, BuildArgs({}), {"os": "linux", "architecture": "amd64"})
    assert stage.run_config["Env"] == [DEFAULT_PATH]
    assert stage.nop("ENV A=b")["Cmd"] == ["/bin/sh", "-c", "#(nop) ", "ENV A=b"]
    assert stage.nop_string("WORKDIR /x")["Cmd"] == ["/bin/sh", "-c", "#(nop) WORKDIR /x"]
    assert stage.parent_document() == {
        "os": "linux",
        "architecture": "amd64",
        "rootfs": {"type": "layers"},
    }


def test_stage_env_puts_config_env_over_build_args():
    args = BuildArgs({"A": "arg", "B": "arg"})
    stage = Stage.begin("", 0, None, args, {})
    stage.args.add_arg("A", None)
    stage.args.add_arg("B", None)
    stage.run_config["Env"].append("A=env")
    env = stage.env()
    assert env["A"] == "env" and env["B"] == "arg"


def test_cache_key_ignores_container_naming_fields_and_empty_collections():
    a = {"Cmd": ["true"], "Hostname": "abc", "Image": "sha256:1", "Env": [], "Labels": None}
    b = {"Cmd": ["true"], "Hostname": "def", "Image": "sha256:2", "AttachStdout": False}
    assert cache_key(a) == cache_key(b)
    assert cache_key(a) != cache_key({**b, "Env": ["A=1"]})
    assert cache_key(a) != cache_key({**b, "User": "nobody"})
