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
    assert not matches(event, {"volume": ["web"]})
    assert not matches(event, {"nonsense": ["x"]})


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
