"""runtime/io.py's start-up FIFO release, on real FIFOs in a temp dir."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from dockerpy_engine.runtime import create_fifos, free_stale_fifos


def test_a_writer_stuck_opening_a_fifo_is_let_go(tmp_path: Path) -> None:
    """The shim's blocking O_WRONLY open of a FIFO whose reader died returns."""
    paths = create_fifos(tmp_path / "c1", stdin=False, terminal=False, name="exec1")
    opened = threading.Event()

    def shim() -> None:
        fd = os.open(paths.stdout, os.O_WRONLY)  # blocks until a reader exists
        opened.set()
        os.close(fd)

    writer = threading.Thread(target=shim, daemon=True)
    writer.start()
    assert not opened.wait(0.1)
    free_stale_fifos(tmp_path)
    assert opened.wait(5)


def test_exec_fifos_go_and_init_fifos_and_other_files_stay(tmp_path: Path) -> None:
    init = create_fifos(tmp_path / "c1", stdin=True, terminal=False)
    exec_ = create_fifos(tmp_path / "c1", stdin=True, terminal=False, name="e" * 64)
    other = tmp_path / "c1" / "notes"
    other.write_text("kept")
    free_stale_fifos(tmp_path)
    assert all(Path(p).exists() for p in (init.stdin, init.stdout, init.stderr))
    assert not any(Path(p).exists() for p in (exec_.stdin, exec_.stdout, exec_.stderr))
    assert other.read_text() == "kept"


def test_a_missing_root_is_fine(tmp_path: Path) -> None:
    free_stale_fifos(tmp_path / "absent")
