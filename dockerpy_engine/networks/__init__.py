"""Networking: IPAM, the bridge driver (plus host and none), published ports, iptables rules."""

from .service import NetworkService
from .types import NetworkOptions

__all__ = ["NetworkOptions", "NetworkService"]
