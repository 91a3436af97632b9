"""Fixtures shared by the unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory next to the one under test that hostile input would like to write into;
    its `victim` file must stay as it is."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "victim").write_text("original")
    return path
