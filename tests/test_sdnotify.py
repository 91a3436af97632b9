"""sdnotify.py: READY=1 as one datagram on NOTIFY_SOCKET, a path or an abstract name."""

from __future__ import annotations

import os
import socket

from dockerpy_engine.sdnotify import READY, STOPPING, Notifier


def _receiver(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(10)
    return sock


def test_ready_goes_to_the_socket_path_and_children_do_not_inherit_it(tmp_path, monkeypatch):
    path = str(tmp_path / "notify")
    receiver = _receiver(path)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    try:
        notifier = Notifier.from_environment()

        assert "NOTIFY_SOCKET" not in os.environ
        assert notifier.notify(READY) is True
        assert receiver.recv(4096) == b"READY=1"
    finally:
        receiver.close()


def test_an_at_sign_means_the_abstract_namespace():
    name = f"dpy-notify-{os.getpid()}"
    receiver = _receiver("\0" + name)
    try:
        assert Notifier("@" + name).notify(STOPPING) is True
        assert receiver.recv(4096) == b"STOPPING=1"
    finally:
        receiver.close()


def test_without_notify_socket_nothing_is_sent(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)

    assert Notifier.from_environment().notify(READY) is False


def test_an_unreachable_socket_is_logged_not_raised(tmp_path, caplog):
    assert Notifier(str(tmp_path / "nobody")).notify(READY) is False
    assert "could not notify systemd" in caplog.text
