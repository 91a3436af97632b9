"""distribution/progress.py: dockerd's JSON progress messages, bars and rate limiting."""

from __future__ import annotations

import orjson

from dockerpy_engine.distribution.progress import (
    Progress,
    format_aux,
    format_error,
    format_progress,
    format_status,
    human_size,
    progress_text,
    short_id,
)


def test_human_size_is_go_units():
    assert human_size(0) == "0B"
    assert human_size(999) == "999B"
    assert human_size(1000) == "1kB"
    assert human_size(772_788) == "772.8kB"
    assert human_size(2_152_000) == "2.152MB"
    assert human_size(1_048_576) == "1.049MB"
    assert human_size(5 * 10**9) == "5GB"


def test_progress_bar_text():
    assert progress_text(0, 0) == ""
    full = progress_text(2_152_000, 2_152_000)
    assert full == "[" + "=" * 50 + ">]  2.152MB/2.152MB"  # as docker pull shows it
    half = progress_text(50, 100)
    assert half.startswith("[" + "=" * 25 + ">" + " " * 25 + "] ")
    assert half.endswith("     50B/100B")
    assert progress_text(1234, 0) == " 1.234kB"  # unknown total: the count alone (%8v)
    assert progress_text(200, 100).endswith("] " + "    200B")  # wonky current: no total


def test_message_shapes_match_dockerd():
    assert orjson.loads(format_status("latest", "Pulling from library/busybox")) == {
        "status": "Pulling from library/busybox",
        "id": "latest",
    }
    assert format_status("", "Digest: sha256:abc") == b'{"status":"Digest: sha256:abc"}\r\n'
    assert (
        format_progress("abc", "Pulling fs layer")
        == b'{"status":"Pulling fs layer","progressDetail":{},"id":"abc"}\r\n'
    )
    line = orjson.loads(format_progress("abc", "Downloading", 10, 100))
    assert list(line) == ["status", "progressDetail", "progress", "id"]
    assert line["progressDetail"] == {"current": 10, "total": 100}
    assert format_aux({"Tag": "1", "Digest": "sha256:x", "Size": 527}) == (
        b'{"progressDetail":{},"aux":{"Tag":"1","Digest":"sha256:x","Size":527}}\r\n'
    )
    assert orjson.loads(format_error("boom")) == {
        "errorDetail": {"message": "boom"},
        "error": "boom",
    }
    assert short_id("sha256:" + "ab" * 32) == "ab" * 6


async def test_bars_are_rate_limited_but_the_last_is_always_sent():
    lines: list[bytes] = []
    now = [0.0]

    async def write(line: bytes) -> None:
        lines.append(line)

    progress = Progress(write, clock=lambda: now[0])
    await progress.bar("l", "Downloading", 10, 100)
    await progress.bar("l", "Downloading", 20, 100)  # 0 ms later: dropped
    now[0] = 0.2
    await progress.bar("l", "Downloading", 30, 100)
    await progress.bar("l", "Downloading", 100, 100)  # final: sent at once
    await progress.bar("l", "Downloading", 100, 100)  # the same again: dropped
    await progress.bar("l", "Extracting", 5, 100)  # another action has its own clock
    currents = [orjson.loads(x)["progressDetail"].get("current") for x in lines]
    assert currents == [10, 30, 100, 5]
    assert progress.started


async def _chunks(sizes: list[int]):
    for size in sizes:
        yield bytes(size)


async def test_reading_passes_bytes_and_reports_as_dockerds_progress_reader():
    """Every 512 kB (or 1% of the total) at most, the rate limit aside, and at the end."""
    lines: list[bytes] = []
    now = [0.0]

    async def write(line: bytes) -> None:
        lines.append(line)
        now[0] += 1  # every line is long after the one before: no rate limiting

    progress = Progress(write, clock=lambda: now[0])
    sizes = [300_000] * 10
    total = sum(sizes)
    body = [c async for c in progress.reading(_chunks(sizes), "", "Importing", total)]
    assert b"".join(body) == bytes(total)
    shown = [orjson.loads(x) for x in lines]
    assert {x["status"] for x in shown} == {"Importing"}
    assert all("id" not in x for x in shown)
    # 1% of 3 MB is 30 kB, under 512 kB: every chunk is reported
    assert [x["progressDetail"]["current"] for x in shown] == [300_000 * n for n in range(1, 11)]
    assert shown[-1]["progressDetail"]["total"] == total

    lines.clear()
    big = [300_000] * 200  # 60 MB, whose 1% is more than 512 kB: every other chunk
    body = [c async for c in progress.reading(_chunks(big), "", "Taking", sum(big))]
    currents = [orjson.loads(x)["progressDetail"]["current"] for x in lines]
    assert currents == [600_000 * n for n in range(1, 101)]


async def test_reading_an_unknown_total_ends_with_a_last_update():
    lines: list[bytes] = []

    async def write(line: bytes) -> None:
        lines.append(line)

    progress = Progress(write, clock=lambda: 0.0)  # every bar but the first is "too soon"
    body = [c async for c in progress.reading(_chunks([600_000, 600_000, 5]), "", "Importing", -1)]
    assert sum(map(len, body)) == 1_200_005
    shown = [orjson.loads(x) for x in lines]
    assert [x["progressDetail"] for x in shown] == [
        {"current": 600_000, "total": -1},
        {"current": 1_200_005, "total": -1},
    ]
    assert shown[-1]["progress"] == "   1.2MB"  # the size alone, padded as %8v
