"""config.py: flags, daemon.json, and dockerd's rule that a setting may not come from both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockerpy_engine import config
from dockerpy_engine.config import DEFAULT_HOST, ConfigError, DaemonConfig, parse


@pytest.fixture(autouse=True)
def no_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the default daemon.json somewhere empty, whatever the test machine has in /etc."""
    path = tmp_path / "etc" / "daemon.json"
    monkeypatch.setattr(config, "DEFAULT_CONFIG_FILE", path)
    return path


def write_json(path: Path, values: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return tmp_path / "daemon.json"


# --- defaults ------------------------------------------------------------------------------------


def test_defaults_without_flags_or_file(no_default_file):
    cfg, _ = parse([])

    assert cfg.hosts == [DEFAULT_HOST]
    assert cfg.data_root == Path("/var/lib/dockerpy")
    assert cfg.exec_root == Path("/run/dockerpy")
    assert cfg.pidfile == Path("/run/dockerpyd.pid")
    assert cfg.containerd == ""
    assert cfg.containerd_namespace == "dockerpy"
    assert cfg.config_file == no_default_file
    assert (cfg.debug, cfg.log_level) == (False, "info")
    assert (cfg.live_restore, cfg.group) == (True, "docker")


def test_default_host_is_dockers_socket():
    assert DEFAULT_HOST == "unix:///var/run/docker.sock"


def test_defaults_do_not_share_the_hosts_list_between_configs():
    first, second = DaemonConfig(), DaemonConfig()
    first.hosts.append("tcp://127.0.0.1:2375")

    assert second.hosts == [DEFAULT_HOST]


def test_the_default_file_is_read_when_it_exists(no_default_file):
    write_json(no_default_file, {"group": "staff"})

    cfg, _ = parse([])

    assert cfg.group == "staff"


# --- flags ---------------------------------------------------------------------------------------


def test_host_flags_accumulate_in_order():
    cfg, _ = parse(["-H", "unix:///tmp/a.sock", "--host", "tcp://127.0.0.1:2375"])

    assert cfg.hosts == ["unix:///tmp/a.sock", "tcp://127.0.0.1:2375"]


def test_path_flags_become_paths():
    cfg, _ = parse(["--data-root", "/srv/d", "--exec-root", "/run/x", "-p", "/run/x.pid"])

    assert (cfg.data_root, cfg.exec_root, cfg.pidfile) == (
        Path("/srv/d"),
        Path("/run/x"),
        Path("/run/x.pid"),
    )


def test_string_flags_are_taken_as_given():
    cfg, _ = parse(
        [
            *("--containerd", "/run/containerd/containerd.sock"),
            *("--containerd-namespace", "ns"),
            *("-G", "staff", "-l", "warn"),
        ]
    )

    assert (cfg.containerd, cfg.containerd_namespace, cfg.group, cfg.log_level) == (
        "/run/containerd/containerd.sock",
        "ns",
        "staff",
        "warn",
    )


def test_an_unknown_log_level_is_refused_by_the_parser():
    with pytest.raises(SystemExit):
        parse(["--log-level", "loud"])


@pytest.mark.parametrize("flag", ["-D", "--debug"])
def test_debug_flag_sets_debug_and_the_debug_log_level(flag):
    cfg, _ = parse([flag])

    assert (cfg.debug, cfg.log_level) == (True, "debug")


def test_debug_wins_over_an_explicit_log_level():
    cfg, _ = parse(["--debug", "--log-level", "error"])

    assert cfg.log_level == "debug"


def test_validate_and_version_flags_are_returned_with_the_arguments():
    _, args = parse(["--validate"])

    assert args.validate is True
    assert args.version is False


# --- the configuration file ----------------------------------------------------------------------


def test_file_values_use_dockerds_daemon_json_keys(config_file):
    write_json(
        config_file,
        {
            "hosts": ["unix:///tmp/d.sock"],
            "data-root": "/srv/data",
            "exec-root": "/run/e",
            "pidfile": "/run/e.pid",
            "containerd": "/run/c.sock",
            "containerd-namespace": "other",
            "log-level": "warn",
            "live-restore": False,
            "group": "wheel",
        },
    )

    cfg, _ = parse(["--config-file", str(config_file)])

    assert cfg.hosts == ["unix:///tmp/d.sock"]
    assert (cfg.data_root, cfg.exec_root, cfg.pidfile) == (
        Path("/srv/data"),
        Path("/run/e"),
        Path("/run/e.pid"),
    )
    assert (cfg.containerd, cfg.containerd_namespace) == ("/run/c.sock", "other")
    assert (cfg.log_level, cfg.live_restore, cfg.group) == ("warn", False, "wheel")
    assert cfg.config_file == config_file


def test_debug_in_the_file_sets_the_debug_log_level(config_file):
    write_json(config_file, {"debug": True})

    cfg, _ = parse(["--config-file", str(config_file)])

    assert (cfg.debug, cfg.log_level) == (True, "debug")


def test_flags_and_file_combine_when_they_set_different_things(config_file):
    write_json(config_file, {"data-root": "/srv/data"})

    cfg, _ = parse(["--config-file", str(config_file), "-G", "staff"])

    assert (cfg.data_root, cfg.group) == (Path("/srv/data"), "staff")


def test_an_empty_file_is_no_settings(config_file):
    config_file.write_text("  \n")

    cfg, _ = parse(["--config-file", str(config_file)])

    assert cfg.data_root == Path("/var/lib/dockerpy")


def test_the_same_setting_as_flag_and_in_the_file_is_dockerds_error(config_file):
    write_json(config_file, {"data-root": "/from/file"})

    with pytest.raises(ConfigError) as caught:
        parse(["--config-file", str(config_file), "--data-root", "/from/flag"])

    assert str(caught.value) == (
        "the following directives are specified both as a flag and in the configuration file: "
        "data-root: (from flag: /from/flag, from file: /from/file)"
    )


def test_every_clash_is_listed_in_one_error(config_file):
    write_json(config_file, {"data-root": "/f", "group": "g"})

    with pytest.raises(ConfigError) as caught:
        parse(["--config-file", str(config_file), "--data-root", "/x", "-G", "h"])

    message = str(caught.value)
    assert "data-root: (from flag: /x, from file: /f)" in message
    assert "group: (from flag: h, from file: g)" in message


def test_a_clash_with_the_default_file_is_an_error_too(no_default_file):
    write_json(no_default_file, {"group": "staff"})

    with pytest.raises(ConfigError, match="specified both as a flag and in the configuration file"):
        parse(["-G", "wheel"])


def test_a_missing_explicit_file_is_an_error(tmp_path):
    missing = tmp_path / "nope.json"

    with pytest.raises(ConfigError) as caught:
        parse(["--config-file", str(missing)])

    assert "unable to configure the daemon" in str(caught.value)
    assert str(missing) in str(caught.value)


def test_a_missing_default_file_is_fine():
    cfg, _ = parse([])

    assert cfg.hosts == [DEFAULT_HOST]


def test_bad_json_is_an_error_naming_the_file(config_file):
    config_file.write_text('{"debug": tru')

    with pytest.raises(ConfigError) as caught:
        parse(["--config-file", str(config_file)])

    assert str(caught.value).startswith(f"unable to configure the daemon with file {config_file}: ")


def test_json_that_is_not_an_object_is_an_error(config_file):
    write_json(config_file, ["debug"])

    with pytest.raises(ConfigError, match="not a JSON object"):
        parse(["--config-file", str(config_file)])


def test_bad_json_in_the_default_file_is_an_error_too(no_default_file):
    no_default_file.parent.mkdir(parents=True)
    no_default_file.write_text("{")

    with pytest.raises(ConfigError):
        parse([])
