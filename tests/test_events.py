"""The event bus: dockerd's JSON shape, filters, backlog and slow listeners."""

from __future__ import annotations

from dockerpy_engine.events import LISTENER_QUEUE, Event, EventBus, matches


def _container_event(action: str = "start", **attrs: str) -> Event:
    return Event("container", action, "abc123", {"name": "web", "image": "busybox:latest", **attrs})


def test_container_events_carry_the_legacy_fields():
    data = _container_event().to_api()
    assert data["Type"] == "container" and data["Action"] == "start"
    assert data["Actor"] == {
        "ID": "abc123",
        "Attributes": {"name": "web", "image": "busybox:latest"},
    }
    assert data["status"] == "start" and data["id"] == "abc123" and data["from"] == "busybox:latest"
    assert data["time"] == data["timeNano"] // 1_000_000_000
    assert data["scope"] == "local"


def test_network_events_do_not():
    data = Event("network", "create", "n1", {"name": "net"}).to_api()
    assert "status" not in data and "id" not in data


def test_filters_by_name_id_prefix_event_type_label_and_image():
    event = _container_event("exec_start: sh -c true", team="core")
    assert matches(event, {"container": ["web"]})
    assert matches(event, {"container": ["abc"]})
    assert not matches(event, {"container": ["other"]})
    assert matches(event, {"event": ["exec_start"]})
    assert matches(event, {"type": ["container", "image"]})
    assert not matches(event, {"type": ["image"]})
    assert matches(event, {"label": ["team"]}) and matches(event, {"label": ["team=core"]})
    assert not matches(event, {"label": ["team=ops"]})
    assert matches(event, {"image": ["busybox"]})
    assert not matches(event, {"volume": ["other"]})


def test_filters_follow_dockerds_rules_to_the_letter():
    """daemon/events/filter.go: its quirks are what clients see."""
    exec_start = _container_event("exec_start: sh -c true")
    # `event` is exact, unless a value is one of the actions that carry a suffix
    assert not matches(exec_start, {"event": ["exec"]})
    assert matches(exec_start, {"event": ["exec_start: sh -c true"]})
    assert matches(_container_event("start"), {"event": ["st", "exec_start"]})
    assert not matches(_container_event("start"), {"event": ["st"]})
    # name/ID filters match by prefix, whatever the type of the event
    assert matches(exec_start, {"container": ["we"]}) and matches(exec_start, {"volume": ["web"]})
    network = Event("network", "connect", "n" * 64, {"name": "front", "container": "abc123"})
    assert not matches(network, {"container": ["abc123"]})  # only its ID and `name` count
    assert matches(network, {"network": ["fr"]}) and matches(network, {"network": ["nnn"]})
    # images: exact, the ID or the name, with or without a tag
    assert not matches(exec_start, {"image": ["busy"]})
    assert matches(exec_start, {"image": ["busybox:latest"]})
    tag = Event("image", "tag", "sha256:" + "1" * 64, {"name": "docker.io/library/app:v2"})
    assert matches(tag, {"image": ["app"]}) and matches(tag, {"image": ["sha256:" + "1" * 64]})
    assert not matches(tag, {"image": ["app:v1"]}) and not matches(tag, {"image": ["sha256:1"]})
    # labels need attributes; unknown keys and empty value lists filter nothing
    assert not matches(Event("volume", "prune", "", {}), {"label": ["a"]})
    assert matches(exec_start, {"nonsense": ["x"], "container": []})
    assert not matches(exec_start, {"scope": ["swarm"]}) and matches(
        exec_start, {"scope": ["local"]}
    )


def test_legacy_fields_are_omitted_when_empty():
    data = Event("container", "prune", "", {"reclaimed": "0"}).to_api()
    assert data["status"] == "prune" and "id" not in data and "from" not in data


async def test_backlog_and_listeners():
    bus = EventBus()
    first = bus.publish("image", "tag", "sha256:1", {"name": "a:1"})
    listener = bus.listen({"type": ["container"]})
    bus.publish("image", "untag", "sha256:1", {"name": "a:1"})
    bus.publish("container", "create", "c1", {})
    assert listener.queue.qsize() == 1
    assert (await listener.queue.get()).action == "create"
    past = bus.past(first.time_nano, 0, {"type": ["image"]})
    assert [e.action for e in past] == ["tag", "untag"]
    bus.forget(listener)
    assert bus.listener_count == 0


async def test_a_listener_that_falls_behind_gets_its_stream_ended():
    bus = EventBus()
    listener = bus.listen({})
    for _ in range(LISTENER_QUEUE + 1):
        bus.publish("container", "start", "c", {})
    assert listener.overflowed
    assert await listener.queue.get() is None
