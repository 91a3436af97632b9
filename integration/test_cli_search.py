"""dockerpy search against the real docker CLI (the method of test_cli_compat.py): the same
steps with both clients, through the daemon's search of a v1 index of test_search.py's on
127.0.0.1, must print the same tables, templates, errors and exit statuses."""

from __future__ import annotations

from pathlib import Path

from .test_cli_more import compare
from .test_search import Index
from .webapp import WebApp


def test_search_output_is_dockers(daemon, tmp_path: Path) -> None:
    with WebApp(Index().app) as server:
        term = f"{server.address}/busybox"
        compare(
            daemon,
            tmp_path,
            [
                (["search", term], b""),
                (["search", "--no-trunc", term], b""),
                (["search", "--limit", "2", term], b""),
                (["search", "--filter", "stars=3", term], b""),
                (["search", "--filter", "is-official=true", term], b""),
                (["search", "--format", "{{.Name}}: {{.StarCount}} {{.IsOfficial}}", term], b""),
                (["search", "--format", "table {{.Name}}\t{{.Description}}", term], b""),
                (["search", "--limit", "101", term], b""),
                (["search", "--filter", "bogus=1", term], b""),
                (["search", f"{server.address}/nothing-matches"], b""),
                (["search"], b""),
            ],
        )
