"""containers/merge.py: completing a container's Config from its image, as dockerd's merge()."""

from __future__ import annotations

import copy

import pytest

from dockerpy_engine.containers.merge import command_of, config_for_api, merge_config
from dockerpy_engine.errdefs import InvalidParameter

IMAGE = {
    "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"],
    "Cmd": ["sh"],
    "Labels": {"maintainer": "image", "tier": "base"},
    "WorkingDir": "/srv",
    "User": "app",
    "StopSignal": "SIGQUIT",
    "ExposedPorts": {"80/tcp": {}},
    "Volumes": {"/data": {}},
}


# --- Env -----------------------------------------------------------------------------------------


def test_env_comes_from_the_image_when_the_user_gave_none():
    merged = merge_config({}, IMAGE)

    assert merged["Env"] == IMAGE["Env"]


def test_user_env_overrides_the_image_variable_with_the_same_key():
    merged = merge_config({"Env": ["LANG=en_US.UTF-8", "DEBUG=1"]}, IMAGE)

    assert sorted(merged["Env"]) == sorted(
        ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=en_US.UTF-8", "DEBUG=1"]
    )


def test_env_override_compares_the_key_not_the_whole_entry():
    merged = merge_config({"Env": ["PATH=/opt/bin"]}, IMAGE)

    assert [e for e in merged["Env"] if e.startswith("PATH=")] == ["PATH=/opt/bin"]


def test_a_user_env_entry_without_value_still_overrides_the_image_key():
    merged = merge_config({"Env": ["LANG"]}, IMAGE)

    assert "LANG=C.UTF-8" not in merged["Env"]
    assert "LANG" in merged["Env"]


def test_env_order_is_user_entries_then_the_images_remaining_ones_as_dockerd():
    """dockerd's merge appends the image's variables the user did not set after the user's own
    (`userConf.Env = append(userConf.Env, imageEnv)`), so `docker run -e DEBUG=1 img` inspects
    as ["DEBUG=1", "PATH=…", "LANG=…"] and `env` in the container lists them in that order."""
    merged = merge_config({"Env": ["DEBUG=1", "LANG=en_US.UTF-8"]}, IMAGE)

    assert merged["Env"] == ["DEBUG=1", "LANG=en_US.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin"]


# --- Labels, ports, volumes ----------------------------------------------------------------------


def test_labels_are_merged_with_the_users_value_winning():
    merged = merge_config({"Labels": {"tier": "web", "team": "a"}}, IMAGE)

    assert merged["Labels"] == {"maintainer": "image", "tier": "web", "team": "a"}


def test_labels_are_an_empty_map_when_neither_side_has_any():
    assert merge_config({}, {})["Labels"] == {}


def test_exposed_ports_are_the_union_of_image_and_user():
    merged = merge_config({"ExposedPorts": {"443/tcp": {}}}, IMAGE)

    assert merged["ExposedPorts"] == {"80/tcp": {}, "443/tcp": {}}


def test_volumes_are_the_union_of_image_and_user():
    merged = merge_config({"Volumes": {"/cache": {}}}, IMAGE)

    assert merged["Volumes"] == {"/data": {}, "/cache": {}}


def test_ports_and_volumes_stay_null_when_neither_side_has_any():
    merged = merge_config({}, {})

    assert merged["ExposedPorts"] is None
    assert merged["Volumes"] is None


# --- Cmd and Entrypoint --------------------------------------------------------------------------


def test_cmd_comes_from_the_image_when_user_gave_neither_cmd_nor_entrypoint():
    merged = merge_config({}, IMAGE)

    assert merged["Cmd"] == ["sh"]


def test_the_users_cmd_replaces_the_images():
    merged = merge_config({"Cmd": ["echo", "hi"]}, IMAGE)

    assert merged["Cmd"] == ["echo", "hi"]


def test_the_images_entrypoint_is_kept_when_the_user_gives_only_a_cmd():
    image = {"Entrypoint": ["/entry.sh"], "Cmd": ["serve"]}

    merged = merge_config({"Cmd": ["debug"]}, image)

    assert (merged["Entrypoint"], merged["Cmd"]) == (["/entry.sh"], ["debug"])


def test_a_user_entrypoint_drops_the_images_cmd():
    image = {"Entrypoint": ["/entry.sh"], "Cmd": ["serve"]}

    merged = merge_config({"Entrypoint": ["/bin/cat"]}, image)

    assert merged["Entrypoint"] == ["/bin/cat"]
    assert not merged.get("Cmd")


def test_a_user_entrypoint_and_cmd_are_both_kept():
    image = {"Entrypoint": ["/entry.sh"], "Cmd": ["serve"]}

    merged = merge_config({"Entrypoint": ["/bin/echo"], "Cmd": ["hi"]}, image)

    assert (merged["Entrypoint"], merged["Cmd"]) == (["/bin/echo"], ["hi"])


def test_empty_string_entrypoint_resets_it_and_keeps_the_users_cmd():
    """`docker run --entrypoint "" img echo hi` sends Entrypoint [""]: no entrypoint at all."""
    image = {"Entrypoint": ["/entry.sh"], "Cmd": ["serve"]}

    merged = merge_config({"Entrypoint": [""], "Cmd": ["echo", "hi"]}, image)

    assert merged["Entrypoint"] is None
    assert merged["Cmd"] == ["echo", "hi"]


def test_empty_string_entrypoint_does_not_bring_back_the_images_cmd():
    image = {"Entrypoint": ["/entry.sh"], "Cmd": ["serve"]}

    merged = merge_config({"Entrypoint": [""]}, image)

    assert merged["Entrypoint"] is None
    assert not merged.get("Cmd")
    with pytest.raises(InvalidParameter, match=r"^no command specified$"):
        command_of(merged)


# --- WorkingDir, User, StopSignal ----------------------------------------------------------------


@pytest.mark.parametrize("key", ["WorkingDir", "User", "StopSignal"])
def test_an_empty_user_setting_is_filled_from_the_image(key):
    assert merge_config({key: ""}, IMAGE)[key] == IMAGE[key]


@pytest.mark.parametrize(
    ("key", "value"), [("WorkingDir", "/tmp"), ("User", "root"), ("StopSignal", "SIGTERM")]
)
def test_a_user_setting_wins_over_the_image(key, value):
    assert merge_config({key: value}, IMAGE)[key] == value


def test_user_settings_the_image_does_not_know_are_kept():
    merged = merge_config({"Tty": True, "OpenStdin": True, "Hostname": "box"}, IMAGE)

    assert (merged["Tty"], merged["OpenStdin"], merged["Hostname"]) == (True, True, "box")


def test_merge_leaves_both_inputs_unchanged():
    user = {"Env": ["A=1"], "Labels": {"x": "1"}, "ExposedPorts": {"1/tcp": {}}}
    image = copy.deepcopy(IMAGE)
    user_before, image_before = copy.deepcopy(user), copy.deepcopy(image)

    merge_config(user, image)

    assert (user, image) == (user_before, image_before)


# --- command_of ----------------------------------------------------------------------------------


def test_command_of_splits_entrypoint_plus_cmd_at_the_first_word():
    config = {"Entrypoint": ["/entry.sh", "--flag"], "Cmd": ["serve", "-v"]}

    assert command_of(config) == ("/entry.sh", ["--flag", "serve", "-v"])


def test_command_of_uses_cmd_alone_without_entrypoint():
    assert command_of({"Entrypoint": None, "Cmd": ["echo", "hi"]}) == ("echo", ["hi"])


def test_command_of_a_single_word_has_no_args():
    assert command_of({"Cmd": ["true"]}) == ("true", [])


@pytest.mark.parametrize("config", [{}, {"Entrypoint": None, "Cmd": None}, {"Cmd": []}])
def test_command_of_nothing_is_dockerds_no_command_specified(config):
    with pytest.raises(InvalidParameter) as caught:
        command_of(config)

    assert caught.value.message == "no command specified"


# --- config_for_api ------------------------------------------------------------------------------


def test_config_for_api_fills_every_field_inspect_always_shows():
    out = config_for_api({}, "abc123def456", "alpine:latest")

    assert out == {
        "Hostname": "abc123def456",
        "Domainname": "",
        "User": "",
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "Tty": False,
        "OpenStdin": False,
        "StdinOnce": False,
        "Env": None,
        "Cmd": None,
        "Image": "alpine:latest",
        "Volumes": None,
        "WorkingDir": "",
        "Entrypoint": None,
        "OnBuild": None,
        "Labels": {},
    }


def test_config_for_api_keeps_the_configs_values():
    config = {"User": "app", "Tty": True, "Env": ["A=1"], "Cmd": ["sh"], "Labels": {"a": "b"}}

    out = config_for_api(config, "host", "img")

    assert {k: out[k] for k in config} == config


def test_config_for_api_does_not_let_null_values_replace_typed_defaults():
    out = config_for_api({"User": None, "WorkingDir": None, "Labels": None}, "host", "img")

    assert (out["User"], out["WorkingDir"], out["Labels"]) == ("", "", {})


def test_config_for_api_keeps_extra_fields_even_when_null():
    out = config_for_api({"ExposedPorts": {"80/tcp": {}}, "StopSignal": None}, "host", "img")

    assert out["ExposedPorts"] == {"80/tcp": {}}
    assert "StopSignal" in out
    assert out["StopSignal"] is None


def test_config_for_api_prefers_the_configs_hostname():
    assert config_for_api({"Hostname": "web"}, "abc123def456", "img")["Hostname"] == "web"


def test_config_for_api_uses_the_given_hostname_when_the_config_has_an_empty_one():
    assert config_for_api({"Hostname": ""}, "abc123def456", "img")["Hostname"] == "abc123def456"


def test_config_for_api_always_shows_the_image_reference_given():
    assert config_for_api({"Image": "sha256:0123"}, "h", "alpine:3.20")["Image"] == "alpine:3.20"
