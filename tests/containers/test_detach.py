"""Detach-key parsing and scanning."""

from __future__ import annotations

import pytest

from dockerpy_engine.containers.detach import DetachScanner, parse_detach_keys
from dockerpy_engine.errdefs import InvalidParameter


def test_parse():
    assert parse_detach_keys("ctrl-p,ctrl-q") == b"\x10\x11"
    assert parse_detach_keys("a,ctrl-@,ctrl-[") == b"a\x00\x1b"
    with pytest.raises(InvalidParameter, match=r"Invalid detach keys \(ctrl-1\) provided"):
        parse_detach_keys("ctrl-1")


def test_scan_detaches_only_on_the_whole_sequence():
    scanner = DetachScanner(b"\x10\x11")
    assert scanner.feed(b"ab\x10") == (b"ab", False)
    assert scanner.feed(b"c") == (b"\x10c", False)  # broken: the held byte goes through
    assert scanner.feed(b"x\x10") == (b"x", False)
    assert scanner.feed(b"\x11rest") == (b"", True)
    assert scanner.feed(b"\x10\x10\x11") == (b"\x10", True)
