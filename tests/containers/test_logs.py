"""containers/logs.py: the json-file writer's line splitting and format, and reading it back."""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path

import orjson
import pytest

from dockerpy_engine.containers import logs
from dockerpy_engine.containers.logs import MAX_PARTIAL, JsonFileLog, LogEntry, parse_time, read_log
from dockerpy_engine.containers.types import LogsOptions

RFC3339_NANO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
BOTH = LogsOptions(stdout=True, stderr=True)


def records(path: Path) -> list[dict]:
    """The file's lines, decoded."""
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def logged(path: Path) -> list[tuple[str, str]]:
    return [(r["stream"], r["log"]) for r in records(path)]


def write_records(path: Path, items: list[tuple[str, str, str]]) -> None:
    """Write (stream, log, time) records in dockerd's format, for reader tests with fixed times."""
    lines = [orjson.dumps({"log": log, "stream": s, "time": t}) + b"\n" for s, log, t in items]
    path.write_bytes(b"".join(lines))


async def collect(path: Path, opts: LogsOptions, live=None, stopped=None) -> list[LogEntry]:
    return [entry async for entry in read_log(path, opts, live, stopped)]


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "container-json.log"


@pytest.fixture
def log(log_path: Path):
    writer = JsonFileLog(log_path)
    yield writer
    writer.close()


# --- writing: line splitting -------------------------------------------------------------------


def test_each_complete_line_becomes_one_entry_keeping_its_newline(log, log_path):
    log.write("stdout", b"one\ntwo\n")

    assert logged(log_path) == [("stdout", "one\n"), ("stdout", "two\n")]


def test_a_line_without_newline_is_held_until_the_newline_arrives(log, log_path):
    log.write("stdout", b"hel")
    assert log_path.read_bytes() == b""

    log.write("stdout", b"lo\nwor")

    assert logged(log_path) == [("stdout", "hello\n")]


def test_a_lone_newline_is_an_empty_line_entry(log, log_path):
    log.write("stdout", b"\n")

    assert logged(log_path) == [("stdout", "\n")]


def test_an_unfinished_line_reaching_16_kib_is_flushed_as_a_partial_entry(log, log_path):
    log.write("stdout", b"x" * (MAX_PARTIAL + 10))

    assert logged(log_path) == [("stdout", "x" * MAX_PARTIAL)]

    log.write("stdout", b"\n")

    assert logged(log_path)[1] == ("stdout", "x" * 10 + "\n")


def test_partial_flush_happens_at_exactly_16_kib_as_dockerds_copier_buffer_fills(log, log_path):
    log.write("stdout", b"y" * MAX_PARTIAL)

    assert logged(log_path) == [("stdout", "y" * MAX_PARTIAL)]


def test_a_complete_line_longer_than_16_kib_is_split_like_dockerds_copier(log, log_path):
    """dockerd's copier reads into a 16 KiB buffer and logs it as a partial message whenever the
    buffer fills without a newline, however the bytes arrived; so a 20000-byte line written in
    one go is two entries (16384 bytes, then the rest with its newline), not one."""
    log.write("stdout", b"z" * 20000 + b"\n")

    assert logged(log_path) == [("stdout", "z" * MAX_PARTIAL), ("stdout", "z" * 3616 + "\n")]


@pytest.mark.parametrize(
    "chunks",
    [[b"z" * MAX_PARTIAL + b"\n"], [b"z" * MAX_PARTIAL, b"\n"]],
    ids=["one-write", "two-writes"],
)
def test_a_line_of_exactly_16_kib_splits_the_same_however_it_was_written(log, log_path, chunks):
    """dockerd's copier fills its 16 KiB buffer before it can see the newline that follows, so
    the line is a full partial entry and then the bare newline, whatever the write sizes."""
    for chunk in chunks:
        log.write("stdout", chunk)

    assert logged(log_path) == [("stdout", "z" * MAX_PARTIAL), ("stdout", "\n")]


def test_end_stream_logs_the_unfinished_last_line_as_is(log, log_path):
    log.write("stdout", b"last words")

    log.end_stream("stdout")

    assert logged(log_path) == [("stdout", "last words")]


def test_end_stream_with_nothing_pending_writes_nothing(log, log_path):
    log.write("stdout", b"done\n")

    log.end_stream("stdout")

    assert logged(log_path) == [("stdout", "done\n")]


def test_end_stream_flushes_only_its_own_stream(log, log_path):
    log.write("stdout", b"out")
    log.write("stderr", b"err")

    log.end_stream("stderr")

    assert logged(log_path) == [("stderr", "err")]


def test_stdout_and_stderr_partials_are_kept_apart(log, log_path):
    log.write("stdout", b"out-")
    log.write("stderr", b"err\n")
    log.write("stdout", b"put\n")

    assert logged(log_path) == [("stderr", "err\n"), ("stdout", "out-put\n")]


def test_close_flushes_every_streams_unfinished_line(log_path):
    log = JsonFileLog(log_path)
    log.write("stdout", b"a")
    log.write("stderr", b"b")

    log.close()

    assert sorted(logged(log_path)) == [("stderr", "b"), ("stdout", "a")]


def test_appends_to_an_existing_log_file(log_path):
    write_records(log_path, [("stdout", "old\n", "2024-01-01T00:00:00.000000000Z")])
    log = JsonFileLog(log_path)

    log.write("stdout", b"new\n")
    log.close()

    assert logged(log_path) == [("stdout", "old\n"), ("stdout", "new\n")]


# --- writing: dockerd's json-file format -------------------------------------------------------


def test_line_format_is_log_stream_time_in_dockerds_key_order(log, log_path):
    log.write("stderr", b"oops\n")

    raw = log_path.read_bytes()
    assert raw.startswith(b'{"log":"oops\\n","stream":"stderr","time":"')
    assert raw.endswith(b'"}\n')
    assert list(records(log_path)[0]) == ["log", "stream", "time"]


def test_time_is_rfc3339_utc_with_nine_fraction_digits_and_z(log, log_path):
    log.write("stdout", b"t\n")

    assert RFC3339_NANO_Z.match(records(log_path)[0]["time"])


def test_invalid_utf8_is_logged_with_replacement_characters(log, log_path):
    log.write("stdout", b"bad \xff byte\n")

    assert logged(log_path) == [("stdout", "bad \ufffd byte\n")]


# --- parse_time ----------------------------------------------------------------------------------


def test_parse_time_reads_whole_seconds():
    assert parse_time("2024-01-02T03:04:05Z") == 1704164645.0


def test_parse_time_keeps_nanosecond_fractions():
    assert parse_time("2024-01-02T03:04:05.250000000Z") == pytest.approx(1704164645.25)


def test_parse_time_tells_apart_stamps_a_microsecond_apart():
    assert parse_time("2024-01-02T03:04:05.000001000Z") > parse_time("2024-01-02T03:04:05Z")


def test_parse_time_of_dockerds_zero_time():
    assert parse_time("0001-01-01T00:00:00Z") == -62135596800.0


# --- reading -------------------------------------------------------------------------------------

THREE = [
    ("stdout", "one\n", "2024-01-01T00:00:01.000000000Z"),
    ("stderr", "two\n", "2024-01-01T00:00:02.000000000Z"),
    ("stdout", "three\n", "2024-01-01T00:00:03.000000000Z"),
]


def datas(entries: list[LogEntry]) -> list[bytes]:
    return [e.data for e in entries]


async def test_read_returns_every_entry_with_stream_data_and_time(log_path):
    write_records(log_path, THREE)

    entries = await collect(log_path, BOTH)

    assert entries == [LogEntry(s, log.encode(), t) for s, log, t in THREE]


async def test_read_of_a_missing_file_yields_nothing(log_path):
    assert await collect(log_path, BOTH) == []


async def test_tail_zero_yields_nothing(log_path):
    write_records(log_path, THREE)

    assert await collect(log_path, LogsOptions(stdout=True, stderr=True, tail=0)) == []


async def test_tail_n_yields_the_last_n_entries(log_path):
    write_records(log_path, THREE)

    entries = await collect(log_path, LogsOptions(stdout=True, stderr=True, tail=2))

    assert datas(entries) == [b"two\n", b"three\n"]


async def test_tail_none_yields_all_entries(log_path):
    write_records(log_path, THREE)

    entries = await collect(log_path, LogsOptions(stdout=True, stderr=True, tail=None))

    assert len(entries) == 3


async def test_negative_tail_yields_all_entries(log_path):
    write_records(log_path, THREE)

    entries = await collect(log_path, LogsOptions(stdout=True, stderr=True, tail=-1))

    assert len(entries) == 3


@pytest.mark.parametrize("tail", [3, 4, 5, 100])
async def test_tail_at_or_beyond_the_entry_count_yields_all_entries(log_path, tail):
    """`docker logs --tail 4` on a three-line log prints the three lines."""
    write_records(log_path, THREE)

    entries = await collect(log_path, LogsOptions(stdout=True, stderr=True, tail=tail))

    assert datas(entries) == [b"one\n", b"two\n", b"three\n"]


async def test_stdout_only_skips_stderr_entries(log_path):
    write_records(log_path, THREE)

    entries = await collect(log_path, LogsOptions(stdout=True))

    assert datas(entries) == [b"one\n", b"three\n"]


async def test_stderr_only_skips_stdout_entries(log_path):
    write_records(log_path, THREE)

    entries = await collect(log_path, LogsOptions(stderr=True))

    assert datas(entries) == [b"two\n"]


async def test_no_stream_selected_yields_nothing(log_path):
    write_records(log_path, THREE)

    assert await collect(log_path, LogsOptions()) == []


async def test_since_keeps_entries_at_or_after_it(log_path):
    write_records(log_path, THREE)
    since = parse_time("2024-01-01T00:00:02Z")

    entries = await collect(log_path, LogsOptions(stdout=True, stderr=True, since=since))

    assert datas(entries) == [b"two\n", b"three\n"]


async def test_until_keeps_entries_at_or_before_it(log_path):
    write_records(log_path, THREE)
    until = parse_time("2024-01-01T00:00:02Z")

    entries = await collect(log_path, LogsOptions(stdout=True, stderr=True, until=until))

    assert datas(entries) == [b"one\n", b"two\n"]


async def test_since_and_until_together_keep_the_window(log_path):
    write_records(log_path, THREE)
    opts = LogsOptions(
        stdout=True,
        stderr=True,
        since=parse_time("2024-01-01T00:00:01.500000000Z"),
        until=parse_time("2024-01-01T00:00:02.500000000Z"),
    )

    assert datas(await collect(log_path, opts)) == [b"two\n"]


async def test_a_torn_last_line_without_newline_is_skipped(log_path):
    write_records(log_path, THREE)
    with open(log_path, "ab") as handle:
        handle.write(b'{"log":"four\\n","stream":"std')

    entries = await collect(log_path, BOTH)

    assert datas(entries) == [b"one\n", b"two\n", b"three\n"]


async def test_a_line_that_is_not_json_is_skipped(log_path):
    write_records(log_path, THREE[:1])
    with open(log_path, "ab") as handle:
        handle.write(b'{"log":"broken\n')
    with open(log_path, "ab") as handle:
        handle.write(orjson.dumps({"log": "after\n", "stream": "stdout", "time": THREE[2][2]}))
        handle.write(b"\n")

    entries = await collect(log_path, BOTH)

    assert datas(entries) == [b"one\n", b"after\n"]


async def test_what_the_writer_logs_reads_back_unchanged(log, log_path):
    log.write("stdout", b"hello\n")
    log.write("stderr", b"warn\n")
    log.write("stdout", b"tail")
    log.end_stream("stdout")

    entries = await collect(log_path, BOTH)

    assert [(e.stream, e.data) for e in entries] == [
        ("stdout", b"hello\n"),
        ("stderr", b"warn\n"),
        ("stdout", b"tail"),
    ]


# --- follow --------------------------------------------------------------------------------------


async def test_without_follow_reading_stops_at_the_end_of_the_file(log, log_path):
    log.write("stdout", b"only\n")
    stopped = asyncio.Event()  # never set: without follow it must not be waited on

    entries = await asyncio.wait_for(collect(log_path, BOTH, log, stopped), 5)

    assert datas(entries) == [b"only\n"]


async def test_follow_sees_backlog_and_live_entries_each_exactly_once(log, log_path):
    opts = LogsOptions(stdout=True, stderr=True, follow=True)
    stopped = asyncio.Event()
    for i in range(3):
        log.write("stdout", f"backlog {i}\n".encode())
    expected = [f"backlog {i}\n".encode() for i in range(3)]

    async def writer() -> None:
        for i in range(40):
            log.write("stdout", f"live {i}".encode())  # split across writes on purpose
            await asyncio.sleep(0)
            log.write("stdout", b"\n")
            expected.append(f"live {i}\n".encode())
            if i % 5 == 0:
                await asyncio.sleep(0.002)
        log.write("stderr", b"bye")
        log.end_stream("stderr")
        expected.append(b"bye")
        await asyncio.sleep(0.05)  # let the follower drain: the race at stop has its own test
        stopped.set()

    follower = asyncio.create_task(collect(log_path, opts, log, stopped))
    await asyncio.sleep(0)
    await writer()
    entries = await asyncio.wait_for(follower, 5)

    assert datas(entries) == expected


async def test_follow_reads_output_written_while_its_last_read_was_in_flight(
    log, log_path, monkeypatch
):
    """The container prints its last line and exits while the follower's file read runs in its
    thread; the follower must still print that line (dockerd drains the file after the stop),
    or `docker logs -f` loses the end of the output."""
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    real_read = logs._read_from
    reads = 0

    def container_prints_and_exits() -> None:
        log.write("stdout", b"last\n")
        stopped.set()

    def read_while_the_container_exits(path: Path, offset: int) -> tuple[bytes, int]:
        nonlocal reads
        result = real_read(path, offset)
        reads += 1
        if reads == 2:  # the first read of the live tail (the first was the backlog)
            done = threading.Event()
            loop.call_soon_threadsafe(lambda: (container_prints_and_exits(), done.set()))
            done.wait(5)
        return result

    monkeypatch.setattr(logs, "_read_from", read_while_the_container_exits)
    log.write("stdout", b"first\n")
    opts = LogsOptions(stdout=True, follow=True)

    entries = await asyncio.wait_for(collect(log_path, opts, log, stopped), 5)

    assert datas(entries) == [b"first\n", b"last\n"]


async def test_follow_ends_when_stopped_is_set_without_new_output(log, log_path):
    log.write("stdout", b"before\n")
    stopped = asyncio.Event()
    opts = LogsOptions(stdout=True, follow=True)

    follower = asyncio.create_task(collect(log_path, opts, log, stopped))
    await asyncio.sleep(0.05)
    assert not follower.done()
    stopped.set()

    assert datas(await asyncio.wait_for(follower, 5)) == [b"before\n"]


async def test_follow_on_an_already_stopped_container_returns_the_backlog(log, log_path):
    log.write("stdout", b"all there is\n")
    stopped = asyncio.Event()
    stopped.set()
    opts = LogsOptions(stdout=True, follow=True)

    entries = await asyncio.wait_for(collect(log_path, opts, log, stopped), 5)

    assert datas(entries) == [b"all there is\n"]


async def test_follow_with_tail_limits_only_the_backlog(log, log_path):
    for i in range(5):
        log.write("stdout", f"old {i}\n".encode())
    stopped = asyncio.Event()
    opts = LogsOptions(stdout=True, follow=True, tail=1)

    follower = asyncio.create_task(collect(log_path, opts, log, stopped))
    await asyncio.sleep(0.05)
    log.write("stdout", b"new 1\nnew 2\n")
    stopped.set()

    assert datas(await asyncio.wait_for(follower, 5)) == [b"old 4\n", b"new 1\n", b"new 2\n"]


async def test_follow_applies_stream_selection_to_live_entries(log, log_path):
    stopped = asyncio.Event()
    opts = LogsOptions(stderr=True, follow=True)

    follower = asyncio.create_task(collect(log_path, opts, log, stopped))
    await asyncio.sleep(0.05)
    log.write("stdout", b"hidden\n")
    log.write("stderr", b"shown\n")
    stopped.set()

    assert datas(await asyncio.wait_for(follower, 5)) == [b"shown\n"]


async def test_changed_resolves_at_the_next_write(log):
    waiter = log.changed()
    assert not waiter.done()

    log.write("stdout", b"x\n")

    assert waiter.done()


async def test_changed_is_not_resolved_by_a_held_partial_line(log):
    waiter = log.changed()

    log.write("stdout", b"no newline yet")

    assert not waiter.done()
