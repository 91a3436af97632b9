"""Versions the daemon reports: its own release and the Engine API range it serves."""

from __future__ import annotations

from . import __version__

API_VERSION = "1.51"
MIN_API_VERSION = "1.24"
SERVER_NAME = "dockerpyd"
SERVER_VERSION = __version__
GIT_COMMIT = "dockerpy"


def parse_api_version(text: str) -> tuple[int, int]:
    """'1.41' -> (1, 41); raises ValueError on anything else."""
    major, _, minor = text.partition(".")
    return int(major), int(minor)


def api_less_than(version: str, other: str) -> bool:
    """True when API version `version` is older than `other` (used for per-version quirks)."""
    return parse_api_version(version) < parse_api_version(other)
