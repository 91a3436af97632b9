"""reload.py: what SIGHUP changes, what it keeps, and the `daemon reload` event it announces."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from dockerpy_engine import config as config_module
from dockerpy_engine.config import DaemonConfig, parse
from dockerpy_engine.distribution import RegistryConfig
from dockerpy_engine.events import EventBus
from dockerpy_engine.reload import Reloader, event_attributes, merged


@pytest.fixture(autouse=True)
def no_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_module, "DEFAULT_CONFIG_FILE", tmp_path / "etc" / "daemon.json")


@pytest.fixture(autouse=True)
def restore_log_level():
    """A reload sets the root logger's level; give it back to the other tests."""
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


class Setup:
    """A daemon's live config read from a real file, its event bus, and what it applied."""

    def __init__(self, tmp_path: Path, values: dict, *flags: str) -> None:
        self.file = tmp_path / "daemon.json"
        self.write(values)
        self.config, _ = parse(["--config-file", str(self.file), *flags])
        self.events = EventBus()
        self.applied: list[tuple[DaemonConfig, RegistryConfig]] = []
        self.reloader = Reloader(
            self.config,
            self.events,
            "engine-id",
            lambda new, registries: self.applied.append((new, registries)),
            hostname=lambda: "host-a",
        )

    def write(self, values: object) -> None:
        self.file.write_text(values if isinstance(values, str) else json.dumps(values))

    def reload_events(self):
        return self.events.past(0, 0, {"type": ["daemon"]})


def test_a_reload_applies_the_files_settings(tmp_path):
    setup = Setup(tmp_path, {"labels": ["a=1"]})
    setup.write({
        "labels": ["b=2"],
        "debug": True,
        "registry-mirrors": ["https://mirror.example"],
        "insecure-registries": ["myreg:5000"],
        "live-restore": False,
        "max-concurrent-downloads": 7,
        "max-concurrent-uploads": 2,
        "max-download-attempts": 9,
    })  # fmt: skip

    assert setup.reloader.reload() is True

    cfg = setup.config
    assert (cfg.labels, cfg.debug, cfg.log_level, cfg.live_restore) == (
        ["b=2"],
        True,
        "debug",
        False,
    )
    assert (cfg.registry_mirrors, cfg.insecure_registries) == (
        ["https://mirror.example"],
        ["myreg:5000"],
    )
    assert (cfg.max_concurrent_downloads, cfg.max_concurrent_uploads) == (7, 2)
    assert cfg.max_download_attempts == 9
    [(new, registries)] = setup.applied
    assert new.live_restore is False
    assert registries.all_mirrors == ["https://mirror.example"]
    assert "myreg:5000" in registries.insecure_hosts
    assert logging.getLogger().level == logging.DEBUG


def test_the_reload_event_has_dockerds_attributes(tmp_path):
    setup = Setup(tmp_path, {})
    setup.write({"labels": ["b=2", "c=3"], "registry-mirrors": ["https://m.example"]})

    setup.reloader.reload()

    [event] = setup.reload_events()
    assert (event.type, event.action, event.actor_id) == ("daemon", "reload", "engine-id")
    assert event.attributes == {
        "debug": "false",
        "labels": '["b=2","c=3"]',
        "registry-mirrors": '["https://m.example"]',
        "insecure-registries": "[]",
        "live-restore": "true",
        "max-concurrent-downloads": "3",
        "max-concurrent-uploads": "5",
        "max-download-attempts": "5",
        "default-runtime": "runc",
        "runtimes": "",
        "name": "host-a",
    }


@pytest.mark.parametrize(
    "broken",
    [
        '{"labels": ["b=2"',  # not JSON
        {"labels": ["b"]},  # not key=value
        {"registry-mirrors": ["not a url"]},
        {"insecure-registries": ["https://reg:5000"]},
        {"group": "staff"},  # also given as a flag
    ],
)
def test_a_bad_file_keeps_the_running_configuration(tmp_path, caplog, broken):
    setup = Setup(tmp_path, {"labels": ["a=1"], "debug": True}, "-G", "wheel")
    before = setup.config.labels, setup.config.debug, setup.config.registry_mirrors
    setup.write(broken)

    with caplog.at_level(logging.ERROR, logger="dockerpy_engine.reload"):
        assert setup.reloader.reload() is False

    assert (setup.config.labels, setup.config.debug, setup.config.registry_mirrors) == before
    assert setup.applied == []
    assert setup.reload_events() == []
    assert "Error reloading configuration" in caplog.text


def test_settings_the_file_drops_keep_their_running_values(tmp_path):
    setup = Setup(tmp_path, {"labels": ["a=1"], "live-restore": False})
    setup.write({})

    setup.reloader.reload()

    assert (setup.config.labels, setup.config.live_restore) == (["a=1"], False)


def test_transfer_limits_the_file_drops_go_back_to_the_defaults(tmp_path):
    setup = Setup(tmp_path, {"max-concurrent-downloads": 9, "max-download-attempts": 2})
    setup.write({"max-concurrent-uploads": 0})

    setup.reloader.reload()

    cfg = setup.config
    assert (cfg.max_concurrent_downloads, cfg.max_concurrent_uploads) == (3, 5)
    assert cfg.max_download_attempts == 5


def test_turning_debug_off_goes_back_to_info(tmp_path):
    setup = Setup(tmp_path, {"debug": True})
    setup.write({"debug": False})

    setup.reloader.reload()

    assert (setup.config.debug, setup.config.log_level) == (False, "info")
    assert logging.getLogger().level == logging.INFO


def test_the_log_level_reloads(tmp_path):
    setup = Setup(tmp_path, {})
    setup.write({"log-level": "warn"})

    setup.reloader.reload()

    assert setup.config.log_level == "warn"
    assert logging.getLogger().level == logging.WARNING


def test_flags_stay_as_given(tmp_path):
    setup = Setup(tmp_path, {}, "--label", "from=flag", "--debug")
    setup.write({"live-restore": False})

    setup.reloader.reload()

    assert (setup.config.labels, setup.config.debug) == (["from=flag"], True)


def test_merged_leaves_the_running_config_alone():
    current = DaemonConfig(labels=["a=1"])

    new = merged(current, {"labels": ["b=2"]})

    assert (current.labels, new.labels) == (["a=1"], ["b=2"])


def test_mirror_maps_are_json_objects_in_the_event():
    cfg = DaemonConfig(registry_mirrors={"docker.io": ["https://m.example"]})

    assert event_attributes(cfg, "")["registry-mirrors"] == '{"docker.io":["https://m.example"]}'
    assert "name" not in event_attributes(cfg, "")
