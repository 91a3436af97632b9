"""hack/soak at a tiny scale, so that the soak keeps working between its full runs.

The full run (200 clients, 100 loggers, 1,000 containers) is for a person to start and read;
here a few clients, loggers and containers for a few seconds go through every phase and every
check: a failed request, a lost object, a log file past its bound or a dead daemon fail it.
"""

from __future__ import annotations

import json
import subprocess

from .daemon import REPO


def test_soak_at_tiny_scale(tmp_path):
    figures = tmp_path / "soak.json"
    run = subprocess.run(
        [
            str(REPO / "hack" / "soak"),
            *("--clients", "6", "--loggers", "2", "--containers", "12", "--duration", "4"),
            *("--log-max-size", "32k", "--counted-lines", "3000"),
            *("--json", str(figures)),
        ],
        capture_output=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout.decode()[-4000:] + run.stderr.decode()[-4000:]
    summary = json.loads(figures.read_text())
    assert summary["problems"] == [] and summary["failures"] == []
    assert summary["server_errors"] == 0
    load = summary["ping"]["load"]
    assert load["pings"] > 0 and load["failed"] == 0
    assert summary["figures"]["listed_after_fill"] >= 12
    assert summary["figures"]["counted_lines"] == 3000
    assert summary["figures"]["loggers_rotated"] == 2
    assert summary["operations"]["create"]["count"] > 0  # the clients did write
    kept = [summary["figures"][f"{kind}s_kept"] for kind in ("container", "volume", "tag")]
    assert sum(kept) > 0  # and kept some of it, which the accounting found
    assert summary["rss_mib"]["peak"] > 0
