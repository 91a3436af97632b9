"""sd_notify: tell systemd (Type=notify) that the daemon is ready, or stopping.

The protocol is one datagram of `KEY=VALUE` lines to the unix socket named by NOTIFY_SOCKET
(a leading `@` means the abstract namespace); without the variable there is no one to tell.
The daemon takes the variable out of its environment at start: the containerd it starts
speaks sd_notify too, and its READY=1 must not pass for ours.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)

READY = "READY=1"
STOPPING = "STOPPING=1"


class Notifier:
    """Where to send; an empty address sends nothing."""

    def __init__(self, address: str) -> None:
        self.address = "\0" + address[1:] if address.startswith("@") else address

    @classmethod
    def from_environment(cls) -> Notifier:
        """NOTIFY_SOCKET, removed from the environment so that no child inherits it."""
        return cls(os.environ.pop("NOTIFY_SOCKET", ""))

    def notify(self, state: str) -> bool:
        """Send `state`; True when it went out. A failure is logged, never fatal: the daemon
        serves whether or not its supervisor hears about it."""
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(state.encode())
        except OSError as exc:
            log.warning("could not notify systemd (%s): %s", state, exc)
            return False
        return True
