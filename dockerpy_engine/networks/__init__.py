"""Networking: IPAM, the bridge driver (plus host and none), published ports, iptables rules."""

from .service import NetworkOptions, NetworkService

__all__ = ["NetworkOptions", "NetworkService"]
