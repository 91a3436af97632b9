"""`dockerpyd --validate`: every check the start makes before it touches the machine."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from dockerpy_engine import config as config_module
from dockerpy_engine.daemon import main


@pytest.fixture(autouse=True)
def no_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_module, "DEFAULT_CONFIG_FILE", tmp_path / "etc" / "daemon.json")
    level = logging.getLogger().level
    yield
    logging.getLogger().setLevel(level)


def validate(tmp_path: Path, values: object, *flags: str) -> int:
    path = tmp_path / "daemon.json"
    path.write_text(values if isinstance(values, str) else json.dumps(values))
    return main(["--config-file", str(path), "--validate", *flags])


def test_a_good_file_is_configuration_ok_on_stderr(tmp_path, capsys):
    assert validate(tmp_path, {"labels": ["a=1"], "metrics-addr": "127.0.0.1:9323"}) == 0

    out, err = capsys.readouterr()
    assert (out, err) == ("", "configuration OK\n")


@pytest.mark.parametrize(
    ("values", "flags", "message"),
    [
        ('{"debug": tru', (), "unable to configure the daemon with file"),
        ({"labels": ["x"]}, (), "bad attribute format: x"),
        ({"hosts": ["tcp://127.0.0.1:2375"]}, (), "refusing to listen on tcp://127.0.0.1:2375"),
        ({}, ("--tlsverify", "--tlscacert", "/nonexistent/ca.pem"), "invalid TLS configuration"),
        ({"metrics-addr": "9323"}, (), "invalid metrics-addr"),
        ({"registry-mirrors": ["ftp://m"]}, (), "invalid registry configuration"),
        ({"hosts": ["udp://1.2.3.4:5"]}, (), "invalid bind address format"),
    ],
)
def test_a_bad_configuration_is_refused_with_its_reason(tmp_path, capsys, values, flags, message):
    assert validate(tmp_path, values, *flags) == 1

    assert message in capsys.readouterr().err


def test_plain_tcp_passes_when_tls_is_explicitly_off(tmp_path, capsys):
    assert validate(tmp_path, {"hosts": ["tcp://127.0.0.1:2375"], "tls": False}) == 0
