"""A container's /etc/hosts lines that networking owns: its own address lines and, on the
default bridge, its legacy links' lines. Each is removed by its exact text, so lines the user
or the image wrote stay.
"""

from __future__ import annotations

from pathlib import Path


def edit_hosts(path: str, drop: list[str], append: list[str]) -> None:
    """Remove these lines from a container's /etc/hosts, then append those (the container's
    own line, its links' lines)."""
    if not path:
        return
    p = Path(path)
    text = p.read_text() if p.exists() else ""
    kept = [x for x in text.splitlines(keepends=True) if x not in drop]
    p.write_text("".join(kept + append))
