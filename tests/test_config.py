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


def test_userns_remap_from_the_flag_or_the_file(config_file):
    cfg, _ = parse(["--userns-remap", "default"])
    assert cfg.userns_remap == "default"
    write_json(config_file, {"userns-remap": "alice:staff"})
    cfg, _ = parse(["--config-file", str(config_file)])
    assert cfg.userns_remap == "alice:staff"
    with pytest.raises(ConfigError, match="userns-remap: \\(from flag: bob, from file: alice"):
        parse(["--config-file", str(config_file), "--userns-remap=bob"])


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


# --- labels, TLS and metrics ---------------------------------------------------------------------


def test_labels_from_flags_accumulate():
    cfg, _ = parse(["--label", "tier=db", "--label", "zone=a"])

    assert cfg.labels == ["tier=db", "zone=a"]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["tier"], "bad attribute format: tier"),
        (["=x"], "invalid label '=x': empty name"),
        (["a=1", "a=2"], "conflict labels for a=2 and a=1"),
    ],
)
def test_bad_labels_are_dockerds_errors(config_file, labels, message):
    write_json(config_file, {"labels": labels})

    with pytest.raises(ConfigError) as caught:
        parse(["--config-file", str(config_file)])

    assert str(caught.value) == message


def test_the_same_label_twice_is_fine():
    cfg, _ = parse(["--label", "a=1", "--label", "a=1"])

    assert cfg.labels == ["a=1", "a=1"]


def test_without_tls_flags_tls_is_unset():
    cfg, _ = parse([])

    assert (cfg.tls, cfg.tlsverify, cfg.tls_client_auth) == (None, None, False)
    assert cfg.tlscert == ""


def test_tlsverify_turns_tls_on_and_defaults_the_files_to_docker_cert_path(monkeypatch):
    monkeypatch.setenv("DOCKER_CERT_PATH", "/certs")

    cfg, _ = parse(["--tlsverify"])

    assert (cfg.tls, cfg.tlsverify, cfg.tls_client_auth) == (True, True, True)
    assert (cfg.tlscacert, cfg.tlscert, cfg.tlskey) == (
        "/certs/ca.pem",
        "/certs/cert.pem",
        "/certs/key.pem",
    )


def test_tls_alone_verifies_clients_as_dockerds():
    cfg, _ = parse(["--tls", "--tlscert", "/c.pem", "--tlskey", "/k.pem"])

    assert (cfg.tls, cfg.tlsverify, cfg.tls_client_auth) == (True, True, True)
    assert (cfg.tlscert, cfg.tlskey) == ("/c.pem", "/k.pem")


def test_tlsverify_false_is_server_only_tls():
    cfg, _ = parse(["--tlsverify=false"])

    assert (cfg.tls, cfg.tlsverify, cfg.tls_client_auth) == (True, False, False)


def test_tls_false_is_plain_and_explicit():
    cfg, _ = parse(["--tls=false"])

    assert (cfg.tls, cfg.tlsverify, cfg.tls_client_auth) == (False, False, False)
    assert cfg.tlscacert == ""


def test_tls_keys_in_the_file(config_file):
    write_json(config_file, {"tlsverify": True, "tlscert": "/s.pem", "tlskey": "/s.key",
                             "tlscacert": "/ca.pem"})  # fmt: skip

    cfg, _ = parse(["--config-file", str(config_file)])

    assert cfg.tls_client_auth
    assert (cfg.tlscacert, cfg.tlscert, cfg.tlskey) == ("/ca.pem", "/s.pem", "/s.key")


def test_metrics_addr_flag_and_key(config_file):
    assert parse(["--metrics-addr", "127.0.0.1:9323"])[0].metrics_addr == "127.0.0.1:9323"
    write_json(config_file, {"metrics-addr": "127.0.0.1:9324"})
    assert parse(["--config-file", str(config_file)])[0].metrics_addr == "127.0.0.1:9324"


def test_the_flags_given_are_kept_for_reloads():
    cfg, _ = parse(["-G", "staff", "--label", "a=1"])

    assert cfg.flags == {"group": "staff", "labels": ["a=1"]}


# --- what a reload reads ---------------------------------------------------------------------


def test_reload_reads_only_the_reloadable_keys_the_file_sets(config_file):
    write_json(config_file, {"debug": True})
    cfg, _ = parse(["--config-file", str(config_file)])
    write_json(config_file, {"labels": ["a=1"], "data-root": "/elsewhere", "live-restore": False})

    values = config.reloadable_values(cfg)

    assert values == {"labels": ["a=1"], "live_restore": False}


def test_reload_refuses_a_key_also_given_as_a_flag(config_file):
    write_json(config_file, {})
    cfg, _ = parse(["--config-file", str(config_file), "--label", "a=1"])
    write_json(config_file, {"labels": ["b=2"]})

    with pytest.raises(ConfigError, match="specified both as a flag and in the configuration"):
        config.reloadable_values(cfg)


@pytest.mark.parametrize(
    "values",
    [
        {"labels": ["nolabel"]},
        {"debug": "yes"},
        {"log-level": "loud"},
        {"max-concurrent-downloads": -1},
        {"live-restore": 1},
    ],
)
def test_reload_checks_the_values(config_file, values):
    write_json(config_file, {})
    cfg, _ = parse(["--config-file", str(config_file)])
    write_json(config_file, values)

    with pytest.raises(ConfigError):
        config.reloadable_values(cfg)


def test_reload_of_a_missing_explicit_file_is_an_error(config_file):
    write_json(config_file, {})
    cfg, _ = parse(["--config-file", str(config_file)])
    config_file.unlink()

    with pytest.raises(ConfigError, match="unable to configure the daemon"):
        config.reloadable_values(cfg)


def test_reload_of_a_missing_default_file_is_no_settings():
    cfg, _ = parse([])

    assert config.reloadable_values(cfg) == {}


# --- container defaults, shutdown, features, unknown keys ---------------------------------------


def test_container_defaults_from_the_file(config_file):
    write_json(
        config_file,
        {
            "dns": ["192.0.2.53", "2001:db8::53"],
            "dns-opts": ["ndots:2"],
            "dns-search": ["example.test"],
            "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 4096, "Soft": 1024}},
            "default-shm-size": "128M",
            "shutdown-timeout": 30,
            "features": {"buildkit": False},
        },
    )
    cfg, _ = parse(["--config-file", str(config_file)])
    defaults = config.container_defaults(cfg)
    assert defaults.dns == ("192.0.2.53", "2001:db8::53")
    assert (defaults.dns_search, defaults.dns_options) == (("example.test",), ("ndots:2",))
    assert defaults.ulimits == ({"Name": "nofile", "Hard": 4096, "Soft": 1024},)
    assert defaults.shm_size == 128 * 1024 * 1024
    assert (cfg.shutdown_timeout, cfg.features) == (30, {"buildkit": False})


def test_container_defaults_from_flags():
    cfg, _ = parse(
        ["--dns", "10.0.0.2", "--dns-search", "a.test", "--dns-opt", "rotate",
         "--default-ulimit", "nproc=10:20", "--default-ulimit", "core=0",
         "--default-shm-size", "1g", "--shutdown-timeout", "-1"]
    )  # fmt: skip
    defaults = config.container_defaults(cfg)
    assert defaults.dns == ("10.0.0.2",)
    assert defaults.ulimits == (
        {"Name": "nproc", "Hard": 20, "Soft": 10},
        {"Name": "core", "Hard": 0, "Soft": 0},
    )
    assert defaults.shm_size == 1024**3
    assert cfg.shutdown_timeout == -1


def test_the_defaults_apply_where_the_container_says_nothing():
    cfg, _ = parse(["--default-ulimit", "nofile=100:200", "--dns", "10.0.0.2"])
    defaults = config.container_defaults(cfg)
    own = [{"Name": "nproc", "Hard": 5, "Soft": 5}]
    assert defaults.merged_ulimits(own) == [*own, {"Name": "nofile", "Hard": 200, "Soft": 100}]
    assert defaults.merged_ulimits([{"Name": "nofile", "Hard": 1, "Soft": 1}]) == [
        {"Name": "nofile", "Hard": 1, "Soft": 1}
    ]
    assert defaults.dns_settings({"Dns": None, "DnsSearch": ["x.test"]}) == (
        ["10.0.0.2"],
        ["x.test"],
        [],
    )
    assert defaults.dns_settings({"Dns": ["1.1.1.1"]})[0] == ["1.1.1.1"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"dns": ["not-an-ip"]}, "not-an-ip is not an ip address"),
        ({"default-shm-size": "lots"}, "invalid default-shm-size"),
        ({"default-shm-size": -1}, "invalid default-shm-size"),
        ({"default-ulimits": {"nofile": {"Hard": 1, "Soft": 2}}}, "soft limit must be less"),
        ({"shutdown-timeout": "soon"}, "invalid shutdown-timeout"),
        ({"features": {"buildkit": "yes"}}, "invalid features"),
        (
            {"debgu": True, "hosst": []},
            "the following directives don't match any configuration option: debgu, hosst",
        ),
    ],
)
def test_bad_values_and_unknown_keys_are_errors(config_file, values, message):
    write_json(config_file, values)
    with pytest.raises(ConfigError, match=message):
        parse(["--config-file", str(config_file)])


def test_dockerds_other_keys_are_accepted_and_listed(config_file):
    write_json(config_file, {"exec-opts": ["native.cgroupdriver=systemd"], "mtu": 1400})
    cfg, _ = parse(["--config-file", str(config_file)])
    assert cfg.ignored_keys == ["exec-opts", "mtu"]
