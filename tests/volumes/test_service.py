"""VolumeService on a real SQLite file: create/ls/rm/prune, filters, in-use, container hooks."""

from __future__ import annotations

import os

import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.events import EventBus
from dockerpy_engine.store import Database
from dockerpy_engine.volumes import ANONYMOUS_LABEL, VolumeCreateOptions, VolumeService
from dockerpy_engine.volumes.service import resolve_subpath


@pytest.fixture
def env(tmp_path):
    db = Database(tmp_path / "db.sqlite")
    events = EventBus()
    svc = VolumeService(db, tmp_path, events)
    users: dict[str, list[str]] = {}
    svc.set_users(lambda name: users.get(name, []))
    yield svc, users, events, tmp_path, db
    db.close()


async def test_create_inspect_and_persist(env):
    svc, _, events, root, db = env
    data = await svc.create(VolumeCreateOptions(name="data", labels={"a": "1"}))
    assert data["Mountpoint"] == str(root / "volumes" / "data" / "_data")
    assert (data["Name"], data["Driver"], data["Scope"], data["Labels"]) == (
        "data",
        "local",
        "local",
        {"a": "1"},
    )
    assert os.path.isdir(data["Mountpoint"])
    assert "UsageData" not in data and data["CreatedAt"].endswith("Z")
    again = VolumeService(db, root, EventBus())
    assert again.inspect("data") == data
    assert [e.action for e in events.past(0, 0, {"type": ["volume"]})] == ["create"]


async def test_create_of_an_existing_name_returns_it(env):
    svc = env[0]
    first = await svc.create(VolumeCreateOptions(name="data"))
    assert await svc.create(VolumeCreateOptions(name="data", labels={"x": "y"})) == first


async def test_generated_names_are_64_hex(env):
    data = await env[0].create(VolumeCreateOptions())
    assert len(data["Name"]) == 64 and int(data["Name"], 16) >= 0


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        (
            VolumeCreateOptions(name="a"),
            "create a: volume name is too short, names should be at least two alphanumeric "
            "characters",
        ),
        (
            VolumeCreateOptions(name="a/b"),
            'create a/b: "a/b" includes invalid characters for a local volume '
            'name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
            "directory, use absolute path",
        ),
        (
            VolumeCreateOptions(name="ok", driver_opts={"bogus": "1"}),
            'create ok: invalid option: "bogus"',
        ),
        (
            VolumeCreateOptions(name="ok", driver_opts={"type": "tmpfs"}),
            'create ok: missing required option: "device"',
        ),
        (
            VolumeCreateOptions(name="ok", driver_opts={"o": "size=1m", "device": "tmpfs"}),
            'create ok: missing required option: "type"',
        ),
    ],
)
async def test_create_errors(env, opts, message):
    """Errors carry the `create <name>: ` of dockerd's volume store (OpErr)."""
    with pytest.raises(errdefs.InvalidParameter) as info:
        await env[0].create(opts)
    assert info.value.message == message


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("ü", 'create ü: "ü" includes invalid characters'),  # two bytes: not "too short"
        ("v" * 300, "create " + "v" * 300 + ": error while creating volume root path"),
    ],
)
async def test_odd_names_are_400s(env, name, message):
    with pytest.raises(errdefs.InvalidParameter) as info:
        await env[0].create(VolumeCreateOptions(name=name))
    assert info.value.message.startswith(message)
    assert info.value.message.endswith(("use absolute path", ": file name too long"))


async def test_unknown_driver_is_not_found(env):
    with pytest.raises(errdefs.NotFound) as info:
        await env[0].create(VolumeCreateOptions(name="x1", driver="nfsplugin"))
    assert (
        info.value.message
        == 'error looking up volume plugin nfsplugin: plugin "nfsplugin" not found'
    )


async def test_list_filters(env):
    svc, users, *_ = env
    await svc.create(VolumeCreateOptions(name="web-data", labels={"tier": "web"}))
    await svc.create(VolumeCreateOptions(name="db-data", labels={"tier": "db", "keep": ""}))
    users["db-data"] = ["c1"]

    def names(**filters):
        return [v["Name"] for v in svc.list(filters)]

    assert names() == ["db-data", "web-data"]
    assert names(dangling=["true"]) == ["web-data"]
    assert names(dangling=["0"]) == ["db-data"]
    assert names(name=["^web"]) == ["web-data"]
    assert names(name=["data"]) == ["db-data", "web-data"]
    assert names(label=["tier=db"]) == ["db-data"]
    assert names(label=["keep"]) == ["db-data"]
    assert names(driver=["local"]) == ["db-data", "web-data"]
    assert names(driver=["other"]) == []
    with pytest.raises(errdefs.InvalidParameter, match="invalid filter 'until'"):
        names(until=["1h"])
    with pytest.raises(errdefs.InvalidParameter, match="invalid filter 'dangling=maybe'"):
        names(dangling=["maybe"])


async def test_remove_in_use_missing_and_forced(env):
    svc, users, events, *_ = env
    await svc.create(VolumeCreateOptions(name="data"))
    users["data"] = ["abc", "def"]
    with pytest.raises(errdefs.Conflict) as info:
        await svc.remove("data")
    assert info.value.message == "remove data: volume is in use - [abc def]"
    users.clear()
    await svc.remove("data")
    with pytest.raises(errdefs.NotFound) as missing:
        await svc.remove("data")
    assert missing.value.message == "get data: no such volume"
    await svc.remove("data", force=True)
    assert "destroy" in [e.action for e in events.past(0, 0, {})]


async def test_prune_takes_anonymous_only_unless_all(env):
    svc, users, *_ = env
    await svc.create(VolumeCreateOptions(name="named"))
    anon = await svc.create(VolumeCreateOptions(labels={ANONYMOUS_LABEL: ""}))
    used = await svc.create(VolumeCreateOptions(labels={ANONYMOUS_LABEL: ""}))
    users[used["Name"]] = ["c"]
    with open(os.path.join(anon["Mountpoint"], "f"), "wb") as f:
        f.write(b"x" * 100)
    report = await svc.prune({})
    assert report.deleted == [anon["Name"]] and report.reclaimed == 100
    report = await svc.prune({"all": ["true"], "label!": ["keep"]})
    assert report.deleted == ["named"]
    with pytest.raises(errdefs.InvalidParameter):
        await svc.prune({"dangling": ["true"]})


async def test_container_hooks(env, tmp_path):
    svc, _, events, *_ = env
    layer = tmp_path / "layer"
    (layer / "etc").mkdir(parents=True)
    (layer / "etc" / "motd").write_text("hi")
    records = await svc.attach_container(
        {"Volumes": {"/etc": {}}},
        {"Binds": ["named:/data", f"{tmp_path}/bind/new:/b"]},
        lambda ref: [],
    )
    by_dest = {r["destination"]: r for r in records}
    anon = by_dest["/etc"]["name"]
    assert svc.get(anon).labels == {ANONYMOUS_LABEL: ""}
    assert by_dest["/data"]["source"] == svc.get("named").mountpoint
    oci = await svc.setup("c1", records, [layer])
    assert {m["destination"] for m in oci} == {"/etc", "/data", "/b"}
    assert os.path.isdir(f"{tmp_path}/bind/new")
    with open(os.path.join(svc.get(anon).mountpoint, "motd")) as motd:
        assert motd.read() == "hi"
    await svc.release("c1", records)
    await svc.release("c1", records)  # twice is harmless
    actions = [e.action for e in events.past(0, 0, {"type": ["volume"]})]
    assert actions.count("mount") == 2 and actions.count("unmount") == 2
    await svc.detach_container("c1", records, remove_anonymous=True)
    assert [v["Name"] for v in svc.list({})] == ["named"]


async def test_attach_cleans_up_anonymous_volumes_on_error(env):
    svc = env[0]
    with pytest.raises(errdefs.InvalidParameter):
        await svc.attach_container({"Volumes": {"/a": {}}}, {"Binds": ["bad:/x:zz"]}, lambda r: [])
    assert svc.list({}) == []


def test_subpath_stays_inside_the_volume(tmp_path):
    vol = tmp_path / "vol"
    (vol / "a" / "b").mkdir(parents=True)
    (vol / "inside").symlink_to("a/b")
    (vol / "out").symlink_to("../../")
    assert resolve_subpath(str(vol), "a/b") == str(vol / "a" / "b")
    assert resolve_subpath(str(vol), "inside") == str(vol / "a" / "b")
    with pytest.raises(errdefs.InvalidParameter, match="escapes"):
        resolve_subpath(str(vol), "out")
    with pytest.raises(errdefs.InvalidParameter, match="escapes"):
        resolve_subpath(str(vol), "a/../../x")
    with pytest.raises(errdefs.InvalidParameter, match="no such file"):
        resolve_subpath(str(vol), "missing")


async def test_a_remapped_daemons_new_volumes_belong_to_its_root(tmp_path):
    db = Database(tmp_path / "db.sqlite")
    try:
        svc = VolumeService(db, tmp_path, EventBus(), owner=(100000, 100001))
        data = await svc.create(VolumeCreateOptions(name="mapped"))
        st = os.stat(data["Mountpoint"])
        assert (st.st_uid, st.st_gid) == (100000, 100001)
        assert os.stat(tmp_path / "volumes" / "mapped").st_uid == 0  # the driver's own dir
    finally:
        db.close()
