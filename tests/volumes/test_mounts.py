"""Binds/Mounts/VolumesFrom parsing with dockerd's messages, and the OCI mounts."""

from __future__ import annotations

import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.volumes.mounts import (
    MountPoint,
    api_mount_points,
    is_local,
    oci_mount,
    parse_bind,
    parse_mount,
    parse_volumes_from,
    plan,
    tmpfs_options,
)


def _error(fn, *args) -> str:
    with pytest.raises(errdefs.InvalidParameter) as info:
        fn(*args)
    return info.value.message


def test_named_volume_bind():
    p = parse_bind("data:/var/lib/data:ro,nocopy")
    assert (p.type, p.name, p.destination, p.rw, p.copy_data) == (
        "volume",
        "data",
        "/var/lib/data",
        False,
        False,
    )
    assert p.mode == "ro,nocopy"


def test_host_bind_defaults_to_rprivate_and_is_created_when_missing():
    p = parse_bind("/srv/x/:/x")
    assert (p.type, p.source, p.destination, p.propagation, p.rw) == (
        "bind",
        "/srv/x",
        "/x",
        "rprivate",
        True,
    )
    assert p.create_source and p.mode == ""
    assert parse_bind("/a:/b:rshared,ro").propagation == "rshared"


def test_anonymous_bind_is_a_volume_without_name():
    p = parse_bind("/data")
    assert p.type == "volume" and p.name == "" and p.destination == "/data"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "invalid volume specification: ''"),
        (":/x", "invalid volume specification: ':/x'"),
        ("/foo:rw", "invalid volume specification: '/foo:rw'"),
        ("a:b:c:d", "invalid volume specification: 'a:b:c:d'"),
        ("/a:/b:bogus", "invalid mode: bogus"),
        ("/a:/b:ro,rw", "invalid mode: ro,rw"),
        (
            "/a:/",
            "invalid volume specification: '/a:/': invalid mount config for type "
            "\"bind\": invalid specification: destination can't be '/'",
        ),
        (
            "vol:rel",
            "invalid volume specification: 'vol:rel': invalid mount config for type "
            "\"volume\": invalid mount path: 'rel' mount path must be absolute",
        ),
    ],
)
def test_bind_errors_are_dockerds(raw, message):
    assert _error(parse_bind, raw) == message


def test_mount_bind_source_must_exist(tmp_path):
    missing = str(tmp_path / "nope")
    assert _error(parse_mount, {"Type": "bind", "Source": missing, "Target": "/x"}) == (
        f'invalid mount config for type "bind": bind source path does not exist: {missing}'
    )
    created = parse_mount(
        {
            "Type": "bind",
            "Source": missing,
            "Target": "/x",
            "BindOptions": {"CreateMountpoint": True},
        }
    )
    assert created.create_source


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"Type": "bind", "Target": "/x"}, "field Source must not be empty"),
        ({"Type": "volume", "Source": "v"}, "field Target must not be empty"),
        (
            {"Type": "bind", "Source": "/", "Target": "/x", "BindOptions": {"Propagation": "up"}},
            "invalid propagation mode: up",
        ),
        ({"Type": "volume", "Target": "/x", "BindOptions": {}, "Source": "v"}, None),
        (
            {"Type": "volume", "Target": "/x", "BindOptions": {"NonRecursive": True}},
            "field BindOptions must not be specified",
        ),
        (
            {"Type": "volume", "Target": "/x", "VolumeOptions": {"Subpath": "a"}},
            "must not set Subpath when using anonymous volumes",
        ),
        (
            {"Type": "volume", "Source": "v", "Target": "/x", "VolumeOptions": {"Subpath": "../a"}},
            "subpath must be a relative path within the volume",
        ),
        (
            {"Type": "volume", "Target": "/x", "ReadOnly": True},
            "must not set ReadOnly mode when using anonymous volumes",
        ),
        ({"Type": "tmpfs", "Source": "x", "Target": "/x"}, "field Source must not be specified"),
        (
            {"Type": "tmpfs", "Target": "/x", "TmpfsOptions": {"Options": [["nosuid"]]}},
            "invalid option: nosuid",
        ),
        ({"Type": "npipe", "Target": "/x"}, "mount type unknown"),
    ],
)
def test_mount_errors_are_dockerds(spec, message):
    if message is None:
        parse_mount(spec)
        return
    assert _error(parse_mount, spec) == f'invalid mount config for type "{spec["Type"]}": {message}'


def test_mount_volume_options():
    p = parse_mount(
        {
            "Type": "volume",
            "Source": "v",
            "Target": "/x/",
            "ReadOnly": True,
            "VolumeOptions": {
                "NoCopy": True,
                "Subpath": "a/b",
                "Labels": {"k": "v"},
                "DriverConfig": {"Name": "local", "Options": {"type": "tmpfs", "device": "tmpfs"}},
            },
        }
    )
    assert (p.name, p.destination, p.rw, p.copy_data, p.subpath) == ("v", "/x", False, False, "a/b")
    assert p.driver_opts == {"type": "tmpfs", "device": "tmpfs"} and p.labels == {"k": "v"}


def test_tmpfs_options_as_dockerd_converts_them():
    assert tmpfs_options({"SizeBytes": 64 << 20, "Mode": 0o1777}, False) == "mode=1777,size=64m"
    assert tmpfs_options({"SizeBytes": 1000}, True) == "ro,size=1000"
    assert tmpfs_options({"Options": [["exec"]]}, False) == "exec"


def test_volumes_from():
    assert parse_volumes_from("c1") == ("c1", "rw")
    assert parse_volumes_from("c1:ro") == ("c1", "ro")
    assert _error(parse_volumes_from, "c1:rshared") == "invalid mode: rshared"
    assert _error(parse_volumes_from, "c1:nocopy") == "invalid mode: nocopy"
    assert _error(parse_volumes_from, "") == "volumes-from specification cannot be an empty string"


def test_plan_orders_sources_as_dockerd():
    donor = [
        MountPoint(
            type="volume", destination="/shared", name="s", source="/v/s", driver="local"
        ).to_record(),
        MountPoint(type="volume", destination="/over", name="o", source="/v/o").to_record(),
    ]
    points = plan(
        {"Volumes": {"/img": {}, "/over": {}}},
        {
            "VolumesFrom": ["d:ro"],
            "Binds": ["/h:/over"],
            "Mounts": [{"Type": "tmpfs", "Target": "/t"}],
        },
        lambda ref: donor,
    )
    by_dest = {p.destination: p for p in points}
    assert set(by_dest) == {"/shared", "/over", "/t", "/img"}
    assert by_dest["/shared"].rw is False and by_dest["/shared"].copy_data is False
    assert by_dest["/over"].type == "bind"
    assert by_dest["/img"].name == "" and by_dest["/img"].mode == ""


def test_plan_named_volume_mode_is_z_and_duplicates_are_refused():
    (p,) = plan({}, {"Binds": ["v:/x"]}, lambda ref: [])
    assert p.mode == "z"
    assert _error(plan, {}, {"Binds": ["v:/x", "/h:/x"]}, lambda ref: []) == (
        "Duplicate mount point: /x"
    )
    assert (
        _error(
            plan,
            {},
            {"Binds": ["v:/x"], "Mounts": [{"Type": "tmpfs", "Target": "/x"}]},
            lambda r: [],
        )
        == "Duplicate mount point: /x"
    )


def test_oci_mounts():
    bind = parse_bind("/h:/c:ro,rslave")
    assert oci_mount(bind, "/h", recursive_ro=True)["options"] == ["rbind", "rro", "rslave"]
    assert oci_mount(bind, "/h", recursive_ro=False)["options"] == ["rbind", "ro", "rslave"]
    forced = parse_mount(
        {
            "Type": "bind",
            "Source": "/",
            "Target": "/c",
            "ReadOnly": True,
            "BindOptions": {"ReadOnlyForceRecursive": True},
        }
    )
    with pytest.raises(errdefs.InvalidParameter):
        oci_mount(forced, "/", recursive_ro=False)
    tmpfs = parse_mount(
        {
            "Type": "tmpfs",
            "Target": "/t",
            "TmpfsOptions": {"SizeBytes": 1 << 20, "Options": [["exec"]]},
        }
    )
    assert oci_mount(tmpfs, "", True) == {
        "destination": "/t",
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["nosuid", "nodev", "size=1m", "exec"],
    }


def test_api_shape_omits_empty_name_and_driver():
    bind = parse_bind("/h:/c")
    assert api_mount_points([bind.to_record()]) == [
        {
            "Type": "bind",
            "Source": "/h",
            "Destination": "/c",
            "Mode": "",
            "RW": True,
            "Propagation": "rprivate",
        }
    ]


def test_is_local():
    assert is_local("a/b") and is_local("a/../b")
    assert not is_local("../a") and not is_local("/a") and not is_local("")
