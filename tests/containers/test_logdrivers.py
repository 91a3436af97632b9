"""containers/logdrivers: the copier, json-file and local formats, rotation and reading back,
options and tag templates, validation and daemon defaults, dual logging, and the network drivers
(syslog, gelf, fluentd, journald) against collectors started here on 127.0.0.1 / unix sockets."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import socket
import struct
import zlib
from pathlib import Path

import msgpack
import orjson
import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.containers.logdrivers import (
    MAX_PARTIAL,
    CachedLog,
    JsonFileLog,
    LogEntry,
    LogInfo,
    Message,
    OptionError,
    _files,
    check_log_config,
    driver_names,
    fluentd,
    gelf,
    journald,
    jsonfile,
    local,
    merge_log_config,
    open_log_driver,
    open_log_reader,
    parse_time_ns,
    syslog,
    validate_log_config,
)
from dockerpy_engine.containers.logdrivers._options import (
    extra_attributes,
    from_human_size,
    parse_bool,
    parse_tag,
    ram_in_bytes,
)
from dockerpy_engine.containers.logs import parse_time
from dockerpy_engine.containers.types import LogsOptions

RFC3339_NANO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
BOTH = LogsOptions(stdout=True, stderr=True)
FOLLOW = LogsOptions(stdout=True, stderr=True, follow=True)
CID = "0123456789ab" + "c" * 52
TIMEOUT = 5


def make_info(directory: Path, **overrides) -> LogInfo:
    values = {
        "container_id": CID,
        "name": "/web",
        "image_id": "sha256:" + "f" * 64,
        "image_name": "busybox:latest",
        "created": "2024-01-02T03:04:05.120000000Z",
        "entrypoint": "sh",
        "args": ("-c", "echo hi"),
        "labels": {"team": "core", "tier": "web", "other": "x"},
        "env": ("PATH=/bin", "MODE=prod", "EMPTY="),
        "directory": directory,
        "log_path": directory / f"{CID}-json.log",
    }
    values.update(overrides)
    return LogInfo(**values)


def records(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def logged(path: Path) -> list[tuple[str, str]]:
    return [(r["stream"], r["log"]) for r in records(path)]


def write_records(path: Path, items: list[tuple[str, str, str]]) -> None:
    """Write (stream, log, time) records in dockerd's format, for reader tests with fixed times."""
    lines = [orjson.dumps({"log": log, "stream": s, "time": t}) + b"\n" for s, log, t in items]
    path.write_bytes(b"".join(lines))


async def collect(reader, opts: LogsOptions = BOTH) -> list[LogEntry]:
    return [entry async for entry in reader.read(opts)]


def stopped_reader(path: Path, config: dict | None = None):
    """The reader `docker logs` gets for a container that is not running."""
    return jsonfile.open_reader(path, config or {}, None)


def datas(entries: list[LogEntry]) -> list[bytes]:
    return [e.data for e in entries]


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "container-json.log"


@pytest.fixture
def log(log_path: Path):
    writer = JsonFileLog(log_path)
    yield writer
    writer.close()


# --- the copier: line splitting (every driver gets these messages) -----------------------------


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


def test_a_complete_line_longer_than_16_kib_is_split_like_dockerds_copier(log, log_path):
    """dockerd's copier logs a full 16 KiB buffer without a newline as a partial message."""
    log.write("stdout", b"z" * 20000 + b"\n")

    assert logged(log_path) == [("stdout", "z" * MAX_PARTIAL), ("stdout", "z" * 3616 + "\n")]


@pytest.mark.parametrize(
    "chunks",
    [[b"z" * MAX_PARTIAL + b"\n"], [b"z" * MAX_PARTIAL, b"\n"]],
    ids=["one-write", "two-writes"],
)
def test_a_line_of_exactly_16_kib_splits_the_same_however_it_was_written(log, log_path, chunks):
    for chunk in chunks:
        log.write("stdout", chunk)

    assert logged(log_path) == [("stdout", "z" * MAX_PARTIAL), ("stdout", "\n")]


def test_end_stream_logs_the_unfinished_last_line_as_is(log, log_path):
    log.write("stdout", b"last words")

    log.end_stream("stdout")

    assert logged(log_path) == [("stdout", "last words")]


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
    writer = JsonFileLog(log_path)
    writer.write("stdout", b"a")
    writer.write("stderr", b"b")

    writer.close()

    assert sorted(logged(log_path)) == [("stderr", "b"), ("stdout", "a")]


def test_writes_after_close_are_ignored(log_path):
    writer = JsonFileLog(log_path)
    writer.close()

    writer.write("stdout", b"late\n")

    assert log_path.read_bytes() == b""


def test_appends_to_an_existing_log_file(log_path):
    write_records(log_path, [("stdout", "old\n", "2024-01-01T00:00:00.000000000Z")])
    writer = JsonFileLog(log_path)

    writer.write("stdout", b"new\n")
    writer.close()

    assert logged(log_path) == [("stdout", "old\n"), ("stdout", "new\n")]


class Recorder(JsonFileLog):
    """Keeps the messages the copier made, partial metadata included."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.messages: list[Message] = []

    def log_many(self, msgs: list[Message]) -> None:
        self.messages.extend(msgs)


def test_pieces_of_a_long_line_share_a_partial_id_with_ordinals_and_a_last_piece(log_path):
    rec = Recorder(log_path)

    rec.write("stdout", b"y" * (2 * MAX_PARTIAL + 5) + b"\nshort\n")

    metas = [m.partial for m in rec.messages]
    assert metas[3] is None  # "short" is a whole line
    first, second, last = metas[:3]
    assert first.id == second.id == last.id and len(first.id) == 64
    assert [first.ordinal, second.ordinal, last.ordinal] == [1, 2, 3]
    assert [first.last, second.last, last.last] == [False, False, True]
    assert [m.ends_line for m in rec.messages] == [False, False, True, True]


# --- json-file: dockerd's bytes --------------------------------------------------------------


def test_line_format_is_log_stream_time_in_dockerds_key_order(log, log_path):
    log.write("stderr", b"oops\n")

    raw = log_path.read_bytes()
    assert raw.startswith(b'{"log":"oops\\n","stream":"stderr","time":"')
    assert raw.endswith(b'"}\n')
    assert list(records(log_path)[0]) == ["log", "stream", "time"]


def test_time_is_gos_rfc3339nano_in_utc(log, log_path):
    log.write("stdout", b"t\n")

    assert RFC3339_NANO_Z.match(records(log_path)[0]["time"])


def test_time_drops_trailing_zeros_as_gos_rfc3339nano():
    msg = Message("stdout", b"x", 1_700_000_000_120_000_000)

    assert b'"time":"2023-11-14T22:13:20.12Z"' in jsonfile.encode(msg)
    assert b'"time":"2023-11-14T22:13:20Z"' in jsonfile.encode(
        Message("stdout", b"", 1_700_000_000 * 10**9)
    )


def test_strings_are_escaped_as_dockerds_writer_does():
    msg = Message("stdout", b'<a href="x">&</a>\t\x01\x08\x0c\\t \xe2\x80\xa8 \xff', 10**18)

    line = jsonfile.encode(msg)

    assert line.startswith(
        b'{"log":"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e\\u0009\\u0001\\u0008\\u000c'
        b'\\\\t \\u2028 \\ufffd\\n"'
    )
    assert orjson.loads(line)["log"] == '<a href="x">&</a>\t\x01\x08\x0c\\t \u2028 \ufffd\n'


def test_invalid_utf8_is_logged_with_replacement_characters(log, log_path):
    log.write("stdout", b"bad \xff byte\n")

    assert logged(log_path) == [("stdout", "bad \ufffd byte\n")]


def test_attrs_hold_the_labels_and_env_asked_for_and_the_tag_sorted(tmp_path):
    info = make_info(tmp_path)
    config = {"labels": "tier,team,missing", "env": "MODE,NOPE", "tag": "{{.Name}}"}
    writer = JsonFileLog(info.log_path, config, info)

    writer.write("stdout", b"hi\n")
    writer.close()

    raw = info.log_path.read_bytes()
    assert b',"attrs":{"MODE":"prod","tag":"web","team":"core","tier":"web"},"time":"' in raw


def test_json_file_has_no_tag_attribute_unless_asked_for(tmp_path):
    info = make_info(tmp_path)
    writer = JsonFileLog(info.log_path, {}, info)

    writer.write("stdout", b"hi\n")
    writer.close()

    assert "attrs" not in records(info.log_path)[0]


# --- parse_time ----------------------------------------------------------------------------------


def test_parse_time_reads_whole_seconds():
    assert parse_time("2024-01-02T03:04:05Z") == 1704164645.0


def test_parse_time_keeps_nanosecond_fractions():
    assert parse_time("2024-01-02T03:04:05.250000000Z") == pytest.approx(1704164645.25)
    assert parse_time_ns("2024-01-02T03:04:05.000000001Z") == 1704164645_000000001


def test_parse_time_reads_short_fractions_and_offsets():
    assert parse_time_ns("2024-01-02T03:04:05.12Z") == 1704164645_120000000
    assert parse_time_ns("2024-01-02T04:04:05+01:00") == 1704164645_000000000


def test_parse_time_of_dockerds_zero_time():
    assert parse_time("0001-01-01T00:00:00Z") == -62135596800.0


def test_parse_time_refuses_garbage():
    with pytest.raises(ValueError):
        parse_time("yesterday")


# --- reading a stopped container's log ------------------------------------------------------

THREE = [
    ("stdout", "one\n", "2024-01-01T00:00:01.000000000Z"),
    ("stderr", "two\n", "2024-01-01T00:00:02.000000000Z"),
    ("stdout", "three\n", "2024-01-01T00:00:03.000000000Z"),
]


async def test_read_returns_every_entry_with_stream_data_and_time(log_path):
    write_records(log_path, THREE)

    entries = await collect(stopped_reader(log_path))

    assert [(e.stream, e.data, e.time) for e in entries] == [
        (s, log.encode(), t) for s, log, t in THREE
    ]


async def test_read_gives_times_with_nine_fraction_digits_whatever_the_file_has(log_path):
    write_records(log_path, [("stdout", "x\n", "2024-01-01T00:00:01.5Z")])

    entries = await collect(stopped_reader(log_path))

    assert entries[0].time == "2024-01-01T00:00:01.500000000Z"


async def test_read_of_a_missing_file_yields_nothing(log_path):
    assert await collect(stopped_reader(log_path)) == []


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        (0, []),
        (2, [b"two\n", b"three\n"]),
        (None, [b"one\n", b"two\n", b"three\n"]),
        (-1, [b"one\n", b"two\n", b"three\n"]),
        (3, [b"one\n", b"two\n", b"three\n"]),
        (100, [b"one\n", b"two\n", b"three\n"]),
    ],
)
async def test_tail(log_path, tail, expected):
    write_records(log_path, THREE)

    entries = await collect(stopped_reader(log_path), LogsOptions(True, True, tail=tail))

    assert datas(entries) == expected


async def test_tail_counts_entries_of_both_streams_as_dockerd(log_path):
    """dockerd tails the file, then drops the streams not asked for: `--tail 1` of a log
    ending in a stderr line prints nothing on stdout."""
    write_records(log_path, THREE[:2])

    entries = await collect(stopped_reader(log_path), LogsOptions(stdout=True, tail=1))

    assert entries == []


async def test_stream_selection(log_path):
    write_records(log_path, THREE)

    assert datas(await collect(stopped_reader(log_path), LogsOptions(stdout=True))) == [
        b"one\n",
        b"three\n",
    ]
    assert datas(await collect(stopped_reader(log_path), LogsOptions(stderr=True))) == [b"two\n"]
    assert await collect(stopped_reader(log_path), LogsOptions()) == []


async def test_since_and_until_are_inclusive(log_path):
    write_records(log_path, THREE)
    two = parse_time("2024-01-01T00:00:02Z")

    since = await collect(stopped_reader(log_path), LogsOptions(True, True, since=two))
    until = await collect(stopped_reader(log_path), LogsOptions(True, True, until=two))

    assert datas(since) == [b"two\n", b"three\n"]
    assert datas(until) == [b"one\n", b"two\n"]


async def test_a_torn_last_line_and_a_line_that_is_not_json_are_skipped(log_path):
    write_records(log_path, THREE[:1])
    with open(log_path, "ab") as handle:
        handle.write(b'{"log":"broken\n')
        handle.write(orjson.dumps({"log": "after\n", "stream": "stdout", "time": THREE[2][2]}))
        handle.write(b'\n{"log":"four\\n","stream":"std')

    entries = await collect(stopped_reader(log_path))

    assert datas(entries) == [b"one\n", b"after\n"]


async def test_what_the_writer_logs_reads_back_unchanged(log, log_path):
    log.write("stdout", b"hello\n")
    log.write("stderr", b"warn\n")
    log.write("stdout", b"tail")
    log.end_stream("stdout")

    entries = await collect(log.reader())

    assert [(e.stream, e.data) for e in entries] == [
        ("stdout", b"hello\n"),
        ("stderr", b"warn\n"),
        ("stdout", b"tail"),
    ]


# --- following a running container -------------------------------------------------------------


async def test_without_follow_reading_stops_at_the_end_of_the_file(log):
    log.write("stdout", b"only\n")

    entries = await asyncio.wait_for(collect(log.reader(), BOTH), TIMEOUT)

    assert datas(entries) == [b"only\n"]


async def test_follow_sees_backlog_and_live_entries_each_exactly_once(log):
    for i in range(3):
        log.write("stdout", f"backlog {i}\n".encode())
    expected = [f"backlog {i}\n".encode() for i in range(3)]

    follower = asyncio.create_task(collect(log.reader(), FOLLOW))
    await asyncio.sleep(0)
    for i in range(40):
        log.write("stdout", f"live {i}".encode())  # split across writes on purpose
        await asyncio.sleep(0)
        log.write("stdout", b"\n")
        expected.append(f"live {i}\n".encode())
        if i % 5 == 0:
            await asyncio.sleep(0.002)
    log.write("stderr", b"bye")
    log.close()  # the run ended: the follower drains the file and stops
    expected.append(b"bye")

    assert datas(await asyncio.wait_for(follower, TIMEOUT)) == expected


async def test_follow_reads_output_written_while_its_last_read_was_in_flight(log, monkeypatch):
    """The container prints its last line and exits while the follower's file read runs in its
    thread; the follower must still print that line, or `docker logs -f` loses the end."""
    loop = asyncio.get_running_loop()
    real_read = _files._read_follow
    reads = 0

    def read_while_the_container_exits(*args):
        nonlocal reads
        result = real_read(*args)
        reads += 1
        if reads == 1:
            done = asyncio.run_coroutine_threadsafe(_print_and_exit(log), loop)
            done.result(TIMEOUT)
        return result

    monkeypatch.setattr(_files, "_read_follow", read_while_the_container_exits)
    log.write("stdout", b"first\n")

    entries = await asyncio.wait_for(collect(log.reader(), FOLLOW), TIMEOUT)

    assert datas(entries) == [b"first\n", b"last\n"]


async def _print_and_exit(writer: JsonFileLog) -> None:
    writer.write("stdout", b"last\n")
    writer.close()


async def test_follow_ends_when_the_writer_closes_without_new_output(log):
    log.write("stdout", b"before\n")

    follower = asyncio.create_task(collect(log.reader(), FOLLOW))
    await asyncio.sleep(0.05)
    assert not follower.done()
    log.close()

    assert datas(await asyncio.wait_for(follower, TIMEOUT)) == [b"before\n"]


async def test_follow_of_a_closed_writer_returns_the_backlog(log):
    log.write("stdout", b"all there is\n")
    reader = log.reader()
    log.close()

    entries = await asyncio.wait_for(collect(reader, FOLLOW), TIMEOUT)

    assert datas(entries) == [b"all there is\n"]


async def test_follow_with_tail_limits_only_the_backlog(log):
    for i in range(5):
        log.write("stdout", f"old {i}\n".encode())

    follower = asyncio.create_task(collect(log.reader(), LogsOptions(True, follow=True, tail=1)))
    await asyncio.sleep(0.05)
    log.write("stdout", b"new 1\nnew 2\n")
    log.close()

    assert datas(await asyncio.wait_for(follower, TIMEOUT)) == [b"old 4\n", b"new 1\n", b"new 2\n"]


async def test_follow_applies_stream_selection_to_live_entries(log):
    follower = asyncio.create_task(collect(log.reader(), LogsOptions(stderr=True, follow=True)))
    await asyncio.sleep(0.05)
    log.write("stdout", b"hidden\n")
    log.write("stderr", b"shown\n")
    log.close()

    assert datas(await asyncio.wait_for(follower, TIMEOUT)) == [b"shown\n"]


async def test_changed_resolves_at_the_next_write_not_at_a_held_partial_line(log):
    waiter = log.changed()

    log.write("stdout", b"no newline yet")
    assert not waiter.done()

    log.write("stdout", b"\n")
    assert waiter.done()


async def test_a_follower_that_goes_away_releases_its_files(log):
    log.write("stdout", b"x\n")
    agen = log.reader().read(FOLLOW)
    assert (await agen.__anext__()).data == b"x\n"
    before = len(os.listdir("/proc/self/fd"))

    await agen.aclose()
    await asyncio.sleep(0.05)

    assert len(os.listdir("/proc/self/fd")) < before
    assert not log._file._followers


# --- rotation -------------------------------------------------------------------------------------


def rotating(path: Path, **options: str) -> JsonFileLog:
    return JsonFileLog(path, options)


def numbered(n: int) -> list[bytes]:
    return [f"line {i:04d}\n".encode() for i in range(n)]


def files_of(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


async def test_rotation_keeps_max_file_files_and_reads_them_oldest_first(log_path):
    writer = rotating(log_path, **{"max-size": "200", "max-file": "3"})
    for line in numbered(30):
        writer.write("stdout", line)
    writer.close()

    assert files_of(log_path) == [log_path.name, log_path.name + ".1", log_path.name + ".2"]
    assert all(p.stat().st_size < 300 for p in log_path.parent.iterdir())
    entries = await collect(stopped_reader(log_path, {"max-file": "3"}))
    kept = datas(entries)
    assert kept == numbered(30)[-len(kept) :]  # the newest, in order, none twice
    assert 6 < len(kept) < 30


async def test_rotation_happens_before_the_write_that_finds_the_file_full(log_path):
    """dockerd checks the size before writing: a file ends at the first entry past max-size."""
    writer = rotating(log_path, **{"max-size": "1", "max-file": "2"})
    writer.write("stdout", b"a\nb\n")
    writer.close()

    assert logged(Path(str(log_path) + ".1")) == [("stdout", "a\n")]
    assert logged(log_path) == [("stdout", "b\n")]


async def test_max_file_1_starts_a_new_file_without_truncating_readers(log_path):
    writer = rotating(log_path, **{"max-size": "500"})  # 3 lines fit, 20 do not
    for line in numbered(3):
        writer.write("stdout", line)
    follower = asyncio.create_task(collect(writer.reader(), FOLLOW))
    await asyncio.sleep(0.05)
    for line in numbered(20)[3:]:
        writer.write("stdout", line)
    writer.close()

    assert files_of(log_path) == [log_path.name]
    assert datas(await asyncio.wait_for(follower, TIMEOUT)) == numbered(20)


async def test_compressed_rotation_gzips_the_rotated_file_with_dockerds_header(log_path):
    writer = rotating(log_path, **{"max-size": "100", "max-file": "3", "compress": "true"})
    for line in numbered(8):
        writer.write("stdout", line)
    while _files.compressions_pending():
        await asyncio.sleep(0.01)
    writer.close()

    names = files_of(log_path)
    assert log_path.name + ".1.gz" in names and log_path.name + ".1" not in names
    data = Path(str(log_path) + ".1.gz").read_bytes()
    assert data[:4] == b"\x1f\x8b\x08\x04"  # gzip with FEXTRA
    (length,) = struct.unpack("<H", data[10:12])
    assert set(json.loads(data[12 : 12 + length])) == {"lastTime"}
    assert gzip.decompress(data).startswith(b'{"log":"line 0')
    config = {"max-file": "3"}
    kept = datas(await collect(stopped_reader(log_path, config)))
    assert kept == numbered(8)[-len(kept) :] and len(kept) > 2


async def test_a_burst_rotates_at_max_size_while_earlier_files_are_still_compressing(log_path):
    """The container's output arrives in one chunk: rotation does not wait for compression
    (the loop never blocks), and each compressed file lands wherever rotation moved it."""
    writer = rotating(log_path, **{"max-size": "300", "max-file": "100", "compress": "true"})
    writer.write("stdout", b"".join(numbered(200)))
    while _files.compressions_pending():
        await asyncio.sleep(0.01)
    writer.close()

    names = files_of(log_path)
    rotated = [n for n in names if n != log_path.name]
    assert len(rotated) > 20 and all(n.endswith(".gz") for n in rotated)
    assert all(p.stat().st_size < 400 for p in log_path.parent.iterdir() if p.suffix != ".gz")
    assert datas(await collect(stopped_reader(log_path, {"max-file": "100"}))) == numbered(200)


async def test_compressions_of_files_rotated_away_are_dropped(log_path):
    writer = rotating(log_path, **{"max-size": "100", "max-file": "2", "compress": "true"})
    writer.write("stdout", b"".join(numbered(50)))
    while _files.compressions_pending():
        await asyncio.sleep(0.01)
    writer.close()

    assert files_of(log_path) == [log_path.name, log_path.name + ".1.gz"]


async def test_a_reader_reads_every_line_once_while_files_rotate_and_compress(log_path):
    writer = rotating(log_path, **{"max-size": "300", "max-file": "5", "compress": "true"})
    follower = asyncio.create_task(collect(writer.reader(), FOLLOW))
    lines = numbered(600)
    for i, line in enumerate(lines):
        writer.write("stdout", line)
        if i % 25 == 0:
            await asyncio.sleep(0.001)  # let compression and the follower run in between
    writer.close()

    assert datas(await asyncio.wait_for(follower, TIMEOUT * 4)) == lines


async def test_follow_goes_on_across_rotations_whose_files_are_already_deleted(log_path):
    """Many rotations between two reads, past max-file: the follower still gets every line,
    because it was handed each new file at its rotation."""
    writer = rotating(log_path, **{"max-size": "50", "max-file": "2"})
    writer.write("stdout", b"start\n")
    agen = writer.reader().read(FOLLOW)
    assert (await agen.__anext__()).data == b"start\n"
    lines = numbered(50)
    for line in lines:  # no await: ~25 rotations before the follower reads again
        writer.write("stdout", line)
    writer.close()

    rest = [entry.data async for entry in agen]

    assert rest == lines


async def test_a_restarted_writer_appends_and_rotates_the_same_files(log_path):
    config = {"max-size": "200", "max-file": "4"}  # three lines a file: ten fit
    first = rotating(log_path, **config)
    for line in numbered(5):
        first.write("stdout", line)
    first.close()
    second = rotating(log_path, **config)
    for line in numbered(10)[5:]:
        second.write("stdout", line)
    second.close()

    assert datas(await collect(stopped_reader(log_path, {"max-file": "4"}))) == numbered(10)


async def test_tail_reads_only_the_newest_rotated_files_it_needs(log_path, monkeypatch):
    writer = rotating(log_path, **{"max-size": "100", "max-file": "5"})
    for line in numbered(25):
        writer.write("stdout", line)
    writer.close()
    decoded = []
    real = _files._decode_source
    monkeypatch.setattr(_files, "_decode_source", lambda *a: decoded.append(a[0]) or real(*a))

    entries = await collect(stopped_reader(log_path, {"max-file": "5"}), LogsOptions(True, tail=3))

    assert datas(entries) == numbered(25)[-3:]
    assert len(files_of(log_path)) == 5
    assert len(decoded) == 2  # the current file has one line, the one before two


async def test_since_skips_compressed_files_older_than_it(log_path, monkeypatch):
    writer = rotating(log_path, **{"max-size": "60", "max-file": "4", "compress": "true"})
    writer.write("stdout", b"old 1\nold 2\nold 3\n")
    while _files.compressions_pending():
        await asyncio.sleep(0.01)
    since = (await collect(writer.reader()))[-1].time_ns / 1e9 + 0.000001
    writer.write("stdout", b"new\n")
    writer.close()
    while _files.compressions_pending():
        await asyncio.sleep(0.01)
    decompressions = []
    real = gzip.decompress
    monkeypatch.setattr(_files.gzip, "decompress", lambda d: decompressions.append(1) or real(d))

    entries = await collect(
        stopped_reader(log_path, {"max-file": "4"}), LogsOptions(True, since=since)
    )

    assert datas(entries) == [b"new\n"]
    assert decompressions == []


# --- json-file options -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"max-size": "-1"}, "invalid size: '-1'"),
        ({"max-size": "0"}, "max-size must be a positive number"),
        ({"max-size": "10x"}, "invalid suffix: 'x'"),
        ({"max-file": "0"}, "max-file cannot be less than 1"),
        ({"max-file": "two"}, 'strconv.Atoi: parsing "two": invalid syntax'),
        ({"compress": "yes"}, 'strconv.ParseBool: parsing "yes": invalid syntax'),
        (
            {"compress": "true", "max-size": "1m"},
            "compress cannot be true when max-file is less than 2 or max-size is not set",
        ),
        (
            {"compress": "true", "max-file": "3"},
            "compress cannot be true when max-file is less than 2 or max-size is not set",
        ),
    ],
)
def test_json_file_option_values_fail_with_dockerds_messages(log_path, config, message):
    with pytest.raises(OptionError) as caught:
        JsonFileLog(log_path, config)

    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "decimal", "binary"),
    [
        ("10", 10, 10),
        ("1k", 1000, 1024),
        ("1K", 1000, 1024),
        ("1kb", 1000, 1024),
        ("1KiB", 1000, 1024),
        ("2m", 2_000_000, 2 * 1024**2),
        ("1.5g", 1_500_000_000, int(1.5 * 1024**3)),
        ("3 MB", 3_000_000, 3 * 1024**2),
        ("7b", 7, 7),
    ],
)
def test_sizes_parse_as_go_units(text, decimal, binary):
    assert from_human_size(text) == decimal
    assert ram_in_bytes(text) == binary


@pytest.mark.parametrize("text", ["", "m", "1q", "1kbb", "1mx", "-5"])
def test_bad_sizes_are_refused(text):
    with pytest.raises(OptionError):
        from_human_size(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", True), ("t", True), ("TRUE", True), ("True", True), ("0", False), ("F", False)],
)
def test_booleans_parse_as_strconv(text, value):
    assert parse_bool(text) is value


# --- tag templates and extra attributes -----------------------------------------------------


@pytest.mark.parametrize(
    ("template", "tag"),
    [
        ("", "0123456789ab"),  # dockerd's default {{.ID}}
        ("{{.ID}}", "0123456789ab"),
        ("{{.FullID}}", CID),
        ("{{.Name}}", "web"),
        ("{{.ImageName}}", "busybox:latest"),
        ("{{.ImageID}}", "sha256:fffff"),  # dockerd cuts the "sha256:…" string at 12
        ("{{.ImageFullID}}", "sha256:" + "f" * 64),
        ("{{.DaemonName}}", "docker"),
        ("{{.Command}}", "sh -c echo hi"),
        ("docker/{{.Name}}/{{.ID}}", "docker/web/0123456789ab"),
        ("{{ .Name | upper }}", "WEB"),
        ("{{truncate .FullID 5}}", "01234"),
        ('{{index .ContainerLabels "team"}}', "core"),
        ("{{.ContainerName}}", "/web"),
        ("plain", "plain"),
    ],
)
def test_tag_templates_render_as_dockerds(tmp_path, template, tag):
    assert parse_tag({"tag": template} if template else {}, make_info(tmp_path)) == tag


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "{{.Nope}}",
            'template: log-tag:1:2: executing "log-tag" at <.Nope>: '
            "can't evaluate field Nope in type *logger.Info",
        ),
        ("{{.ID", "template: log-tag:1: unclosed action"),
        ("{{frob .ID}}", 'template: log-tag:1: function "frob" not defined'),
    ],
)
def test_bad_tag_templates_fail_with_gos_messages(tmp_path, template, message):
    with pytest.raises(OptionError) as caught:
        parse_tag({"tag": template}, make_info(tmp_path))

    assert str(caught.value) == message


def test_extra_attributes_take_the_named_and_matching_labels_and_env(tmp_path):
    info = make_info(tmp_path)

    assert extra_attributes({"labels": "team,nope", "env": "MODE,EMPTY"}, info) == {
        "team": "core",
        "MODE": "prod",
        "EMPTY": "",
    }
    assert extra_attributes({"labels-regex": "^t", "env-regex": "^PA"}, info) == {
        "team": "core",
        "tier": "web",
        "PATH": "/bin",
    }
    assert extra_attributes({"labels": "team"}, info, str.upper) == {"TEAM": "core"}


# --- validation at create, daemon defaults --------------------------------------------------


def test_the_registered_drivers_are_those_docker_info_lists():
    assert driver_names() == ["fluentd", "gelf", "journald", "json-file", "local", "syslog"]


@pytest.mark.parametrize(
    ("log_config", "message"),
    [
        ({"Type": "x"}, "logger: no log driver named 'x' is registered"),
        (
            {"Type": "json-file", "Config": {"x": "1"}},
            "unknown log opt 'x' for json-file log driver",
        ),
        ({"Type": "local", "Config": {"x": "1"}}, "unknown log opt 'x' for log driver local"),
        ({"Type": "syslog", "Config": {"x": "1"}}, "unknown log opt 'x' for syslog log driver"),
        ({"Type": "journald", "Config": {"x": "1"}}, "unknown log opt 'x' for journald log driver"),
        (
            {"Type": "fluentd", "Config": {"x": "1"}},
            "unknown log opt 'x' for fluentd log driver",
        ),
        (
            {"Type": "gelf", "Config": {"gelf-address": "udp://h:1", "x": "1"}},
            'unknown log opt "x" for gelf log driver',
        ),
        (
            {"Type": "json-file", "Config": {"mode": "fast"}},
            "logger: logging mode not supported: fast",
        ),
        (
            {"Type": "json-file", "Config": {"max-buffer-size": "1m"}},
            "logger: max-buffer-size option is only supported with 'mode=non-blocking'",
        ),
        (
            {"Type": "json-file", "Config": {"mode": "non-blocking", "max-buffer-size": "x"}},
            "error parsing option max-buffer-size: invalid size: 'x'",
        ),
        (
            {"Type": "syslog", "Config": {"cache-disabled": "maybe"}},
            "invalid value for option cache-disabled: maybe",
        ),
    ],
)
def test_invalid_log_configs_are_refused_with_dockerds_messages(log_config, message):
    with pytest.raises(errdefs.InvalidParameter) as caught:
        validate_log_config(log_config)

    assert caught.value.message == message


@pytest.mark.parametrize(
    "log_config",
    [
        {"Type": "none", "Config": {"anything": "goes"}},  # dockerd does not check none
        {"Type": "json-file", "Config": {"mode": "non-blocking", "max-buffer-size": "4m"}},
        {"Type": "json-file", "Config": {"cache-disabled": "true", "max-size": "x"}},
        {"Type": "local", "Config": {"max-size": "10m", "max-file": "3", "tag": "{{.Name}}"}},
        {
            "Type": "syslog",
            "Config": {"syslog-address": "udp://127.0.0.1", "syslog-format": "rfc5424"},
        },
        {"Type": "fluentd", "Config": {"fluentd-address": "localhost:24224", "fluentd-async": "1"}},
        {"Type": "journald", "Config": {"labels": "a", "tag": "x"}},
    ],
)
def test_valid_log_configs_pass(log_config):
    check_log_config(log_config)


def test_merge_gives_a_container_without_a_driver_the_daemon_default_and_its_options():
    default = {"Type": "local", "Config": {"max-size": "1m", "max-file": "2"}}

    assert merge_log_config({"Type": "", "Config": {}}, default) == default
    assert merge_log_config(None, default) == default
    assert merge_log_config({"Config": {"max-file": "9"}}, default) == {
        "Type": "local",
        "Config": {"max-size": "1m", "max-file": "9"},
    }


def test_merge_keeps_the_daemons_options_from_another_driver_except_the_caches():
    default = {"Type": "syslog", "Config": {"syslog-address": "udp://h", "cache-disabled": "true"}}

    merged = merge_log_config({"Type": "json-file", "Config": {"max-size": "1m"}}, default)

    assert merged == {"Type": "json-file", "Config": {"max-size": "1m", "cache-disabled": "true"}}


def test_merge_without_any_default_is_json_file():
    assert merge_log_config(None, {}) == {"Type": "json-file", "Config": {}}


# --- opening drivers and readers ----------------------------------------------------------


async def test_json_file_is_opened_at_the_containers_log_path(tmp_path):
    info = make_info(tmp_path)
    driver = await open_log_driver({"Type": "json-file", "Config": {}}, info)
    driver.write("stdout", b"hi\n")
    driver.close()

    assert logged(info.log_path) == [("stdout", "hi\n")]


async def test_option_values_that_fail_at_start_read_as_dockerds(tmp_path):
    with pytest.raises(errdefs.InvalidParameter) as caught:
        await open_log_driver(
            {"Type": "json-file", "Config": {"max-file": "0"}}, make_info(tmp_path)
        )

    assert (
        caught.value.message
        == "failed to initialize logging driver: max-file cannot be less than 1"
    )


async def test_none_keeps_nothing_and_cannot_be_read(tmp_path):
    info = make_info(tmp_path)
    driver = await open_log_driver({"Type": "none", "Config": {}}, info)
    driver.write("stdout", b"gone\n")
    driver.close()

    assert list(tmp_path.iterdir()) == []
    with pytest.raises(errdefs.Unimplemented) as caught:
        open_log_reader({"Type": "none", "Config": {}}, info, driver)
    assert caught.value.message == "configured logging driver does not support reading"


# --- local: dockerd's framed protobuf --------------------------------------------------------


def test_local_entries_are_dockerds_framed_protobuf():
    frame = local.encode_entry(Message("stdout", b"hi", 1))

    body = b"\x0a\x06stdout" + b"\x10\x01" + b"\x1a\x02hi"
    assert frame == struct.pack(">I", len(body)) + body + struct.pack(">I", len(body))


def test_local_entries_carry_partial_metadata_and_attributes():
    msg = Message("stderr", b"piece", 1_700_000_000_123_456_789, _partial("ab", 2, True))

    frame = local.encode_entry(msg, (("tag", "web"),))

    source, time_ns, line, partial = local.decode_entry(frame[4:-4])
    assert (source, time_ns, line) == ("stderr", 1_700_000_000_123_456_789, b"piece")
    assert partial == {1: True, 2: "ab", 3: 2}
    assert b"\x32\x0a\x0a\x03tag\x12\x03web" in frame  # field 6: LogAttr{key, value}


def _partial(pid: str, ordinal: int, last: bool):
    from dockerpy_engine.containers.logdrivers._base import Partial

    return Partial(pid, ordinal, last)


async def test_local_reads_back_lines_with_their_newline_and_partials_without(tmp_path):
    info = make_info(tmp_path)
    driver = await open_log_driver({"Type": "local", "Config": {}}, info)
    driver.write("stdout", b"one\n")
    driver.write("stderr", b"x" * (MAX_PARTIAL + 1) + b"\n")
    driver.write("stdout", b"unfinished")
    driver.close()

    entries = await collect(open_log_reader({"Type": "local", "Config": {}}, info, None))

    assert [(e.stream, e.data) for e in entries] == [
        ("stdout", b"one\n"),
        ("stderr", b"x" * MAX_PARTIAL),
        ("stderr", b"x\n"),
        ("stdout", b"unfinished"),
    ]
    assert (tmp_path / "local-logs" / "container.log").exists()


async def test_local_rotates_and_compresses_by_default(tmp_path):
    info = make_info(tmp_path)
    config = {"max-size": "200"}
    driver = await open_log_driver({"Type": "local", "Config": config}, info)
    follower = asyncio.create_task(collect(driver.reader(), FOLLOW))
    lines = numbered(100)
    for i, line in enumerate(lines):
        driver.write("stdout", line)
        if i % 10 == 0:
            await asyncio.sleep(0.001)
    driver.close()
    while _files.compressions_pending():
        await asyncio.sleep(0.01)

    assert datas(await asyncio.wait_for(follower, TIMEOUT)) == lines
    names = sorted(p.name for p in (tmp_path / "local-logs").iterdir())
    assert len(names) == 5 and "container.log.1.gz" in names
    kept = datas(await collect(open_log_reader({"Type": "local", "Config": config}, info, None)))
    assert kept == lines[-len(kept) :]


def test_a_torn_local_frame_is_left_for_later():
    frames = local.encode_entry(Message("stdout", b"a", 5)) + local.encode_entry(
        Message("stdout", b"b", 6)
    )

    entries, used = local.LocalCodec().decode(frames[:-3])

    assert datas(entries) == [b"a\n"]
    assert used == len(local.encode_entry(Message("stdout", b"a", 5)))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"max-file": "1"}, "compression cannot be enabled when max file count is 1"),
        ({"max-size": "x"}, "invalid value for max-size: x: invalid size: 'x'"),
        ({"max-file": "-1", "compress": "false"}, "max-file must not be negative"),
        (
            {"compress": "maybe"},
            "invalid boolean value for compress: "
            'strconv.ParseBool: parsing "maybe": invalid syntax',
        ),
    ],
)
def test_local_option_values_fail_with_dockerds_messages(config, message):
    with pytest.raises(OptionError) as caught:
        local.parse_config(config)

    assert str(caught.value) == message


def test_local_defaults_are_dockerds():
    assert local.parse_config({}) == (20 * 1024 * 1024, 5, True)


# --- collectors for the network drivers (all on this machine) -------------------------------


class Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr) -> None:
        self.queue.put_nowait(data)

    async def next(self) -> bytes:
        return await asyncio.wait_for(self.queue.get(), TIMEOUT)


async def udp_collector():
    loop = asyncio.get_running_loop()
    transport, collector = await loop.create_datagram_endpoint(
        Datagrams, local_addr=("127.0.0.1", 0)
    )
    return transport, collector, transport.get_extra_info("sockname")[1]


async def unixgram_collector(path: Path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    transport, collector = await asyncio.get_running_loop().create_datagram_endpoint(
        Datagrams, sock=sock
    )
    return transport, collector


class Stream:
    """A stream collector: everything received on any connection, in order."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.changed = asyncio.Event()
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        while chunk := await reader.read(65536):
            self.data += chunk
            self.changed.set()
        writer.close()

    async def until(self, predicate) -> bytes:
        while not predicate(bytes(self.data)):
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), TIMEOUT)
        return bytes(self.data)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def tcp_collector(port: int = 0, ssl_context=None) -> tuple[Stream, int]:
    stream = Stream()
    stream.server = await asyncio.start_server(stream.handle, "127.0.0.1", port, ssl=ssl_context)
    return stream, stream.server.sockets[0].getsockname()[1]


async def unix_collector(path: Path) -> Stream:
    stream = Stream()
    stream.server = await asyncio.start_unix_server(stream.handle, str(path))
    return stream


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def opened(tmp_path: Path, kind: str, config: dict, **info):
    return await open_log_driver({"Type": kind, "Config": config}, make_info(tmp_path, **info))


# --- syslog -------------------------------------------------------------------------------

UNIX_STAMP = r"[A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d"


async def test_syslog_over_udp_sends_dockerds_default_format_with_severity_per_stream(tmp_path):
    transport, collector, port = await udp_collector()
    driver = await opened(
        tmp_path, "syslog", {"syslog-address": f"udp://127.0.0.1:{port}", "cache-disabled": "1"}
    )
    try:
        driver.write("stdout", b"hello\n")
        driver.write("stderr", b"oops\n")
        out, err = await collector.next(), await collector.next()
    finally:
        driver.close()
        transport.close()

    pid = os.getpid()
    assert re.fullmatch(rf"<30>{UNIX_STAMP} 0123456789ab\[{pid}\]: hello\n", out.decode())
    assert re.fullmatch(rf"<27>{UNIX_STAMP} 0123456789ab\[{pid}\]: oops\n", err.decode())


async def test_syslog_rfc5424_over_tcp_with_facility_and_tag(tmp_path):
    stream, port = await tcp_collector()
    config = {
        "syslog-address": f"tcp://127.0.0.1:{port}",
        "syslog-format": "rfc5424",
        "syslog-facility": "local3",
        "tag": "app/{{.Name}}",
    }
    driver = await opened(tmp_path, "syslog", config)
    driver.write("stdout", b"one\ntwo\n")
    data = await stream.until(lambda d: d.count(b"\n") >= 2)
    driver.close()
    await driver.wait_closed()
    await stream.close()

    host, pid = socket.gethostname(), os.getpid()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)"
    for line, text in zip(data.decode().splitlines(), ("one", "two"), strict=True):
        assert re.fullmatch(rf"<158>1 {stamp} {host} app/web {pid} app/web - {text}", line)


async def test_syslog_rfc5424micro_and_rfc3164_formats():
    ns = 1_700_000_000_120_000_000
    micro = syslog.format_message("rfc5424micro", 30, "h", "t", 7, "m", ns)
    classic = syslog.format_message("rfc3164", 30, "h", "t", 7, "m", ns)

    assert re.fullmatch(r"<30>1 \S+\.12(Z|[+-]\d\d:\d\d) h t 7 t - m\n", micro)
    assert re.fullmatch(rf"<30>{UNIX_STAMP} h t\[7\]: m\n", classic)


async def test_syslog_over_unix_and_unixgram_sockets(tmp_path):
    stream = await unix_collector(tmp_path / "stream.sock")
    transport, collector = await unixgram_collector(tmp_path / "dgram.sock")
    first = await opened(tmp_path, "syslog", {"syslog-address": f"unix://{tmp_path}/stream.sock"})
    second = await opened(
        tmp_path, "syslog", {"syslog-address": f"unixgram://{tmp_path}/dgram.sock"}
    )
    first.write("stdout", b"via stream\n")
    second.write("stdout", b"via datagram\n")

    assert (await stream.until(lambda d: d.endswith(b"\n"))).endswith(b"]: via stream\n")
    assert (await collector.next()).endswith(b"]: via datagram\n")
    first.close()
    second.close()
    transport.close()
    await stream.close()


async def test_syslog_over_tls_frames_rfc5424_by_octet_counting(tmp_path):
    openssl = __import__("shutil").which("openssl")
    if openssl is None:
        pytest.skip("no openssl to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    __import__("subprocess").run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    import ssl

    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    stream, port = await tcp_collector(ssl_context=server_context)
    config = {
        "syslog-address": f"tcp+tls://127.0.0.1:{port}",
        "syslog-format": "rfc5424",
        "syslog-tls-ca-cert": str(cert),
    }
    driver = await opened(tmp_path, "syslog", config)
    driver.write("stdout", b"secret\n")
    data = await stream.until(lambda d: d.endswith(b"\n"))
    driver.close()
    await stream.close()

    length, _, message = data.partition(b" ")
    assert int(length) == len(message) and message.startswith(b"<30>1 ")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"syslog-address": "foo://x"},
            "syslog-address should be in form proto://address, got foo://x",
        ),
        (
            {"syslog-address": "unix:///nonexistent/s"},
            "stat /nonexistent/s: no such file or directory",
        ),
        ({"syslog-facility": "local9"}, "invalid syslog facility"),
        ({"syslog-format": "rfc9999"}, "Invalid syslog format"),
        ({"syslog-address": "tcp://a:b:c"}, "address a:b:c: too many colons in address"),
    ],
)
def test_syslog_options_are_checked_at_create_with_dockerds_messages(config, message):
    with pytest.raises(errdefs.InvalidParameter) as caught:
        validate_log_config({"Type": "syslog", "Config": config})

    assert caught.value.message == message


def test_syslog_facilities_and_default_port():
    assert syslog.parse_facility("") == 3 << 3
    assert syslog.parse_facility("local7") == 23 << 3
    assert syslog.parse_facility("4") == 4 << 3
    assert syslog.parse_address("udp://10.0.0.1") == ("udp", "10.0.0.1", 514, "")
    assert syslog.parse_address("tcp://[::1]:601") == ("tcp", "::1", 601, "")


async def test_syslog_start_never_fails_and_delivers_once_the_collector_comes_up(tmp_path):
    """dockerd's syslog writer connects lazily; until then lines wait in the bounded buffer."""
    port = free_port()
    driver = await opened(tmp_path, "syslog", {"syslog-address": f"tcp://127.0.0.1:{port}"})
    driver.write("stdout", b"early\n")

    stream, _ = await tcp_collector(port)
    driver.write("stdout", b"later\n")
    data = await stream.until(lambda d: d.count(b"\n") >= 2)
    driver.close()
    await stream.close()

    assert data.index(b"early") < data.index(b"later")


async def test_a_collector_that_never_reads_costs_the_container_nothing(tmp_path, caplog):
    """Writes past the bound are dropped with a warning instead of waiting (non-blocking)."""
    stalled = asyncio.Event()

    async def never_read(reader, writer):
        await stalled.wait()
        writer.close()

    server = await asyncio.start_server(never_read, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = {
        "syslog-address": f"tcp://127.0.0.1:{port}",
        "mode": "non-blocking",
        "max-buffer-size": "64k",
    }
    driver = await opened(tmp_path, "syslog", config)
    while not driver.remote.sender.connected:
        await asyncio.sleep(0.01)
    line = b"x" * 1000 + b"\n"
    for _ in range(5000):  # 5 MB into a collector that takes nothing
        driver.write("stdout", line)

    assert driver.remote.sender.sent < 5000
    assert "not keeping up" in caplog.text
    # the dual-logging cache kept every line regardless
    assert len(await collect(driver.reader())) == 5000
    driver.close()
    stalled.set()
    server.close()


# --- dual logging ----------------------------------------------------------------------------


async def test_drivers_that_cannot_be_read_are_read_from_the_local_cache(tmp_path):
    transport, collector, port = await udp_collector()
    log_config = {"Type": "syslog", "Config": {"syslog-address": f"udp://127.0.0.1:{port}"}}
    info = make_info(tmp_path)
    driver = await open_log_driver(log_config, info)
    driver.write("stdout", b"kept\n")
    await collector.next()
    live_entries = await collect(open_log_reader(log_config, info, driver))
    driver.close()
    transport.close()

    assert isinstance(driver, CachedLog) and driver.name == "syslog"
    assert datas(live_entries) == [b"kept\n"]
    assert datas(await collect(open_log_reader(log_config, info, None))) == [b"kept\n"]
    assert (tmp_path / "container-cached.log").exists()


async def test_cache_disabled_makes_docker_logs_refuse(tmp_path):
    transport, _, port = await udp_collector()
    log_config = {
        "Type": "syslog",
        "Config": {"syslog-address": f"udp://127.0.0.1:{port}", "cache-disabled": "true"},
    }
    info = make_info(tmp_path)
    driver = await open_log_driver(log_config, info)
    driver.write("stdout", b"sent only\n")
    driver.close()
    transport.close()

    assert not isinstance(driver, CachedLog)
    assert not (tmp_path / "container-cached.log").exists()
    with pytest.raises(errdefs.Unimplemented):
        open_log_reader(log_config, info, None)


async def test_the_cache_takes_the_local_options_with_a_cache_prefix(tmp_path):
    transport, _, port = await udp_collector()
    log_config = {
        "Type": "gelf",
        "Config": {
            "gelf-address": f"udp://127.0.0.1:{port}",
            "cache-max-size": "100",
            "cache-max-file": "2",
            "cache-compress": "false",
        },
    }
    driver = await open_log_driver(log_config, make_info(tmp_path))
    for line in numbered(20):
        driver.write("stdout", line)
    driver.close()
    transport.close()

    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["container-cached.log", "container-cached.log.1"]


# --- gelf ---------------------------------------------------------------------------------


async def gelf_messages(tmp_path, config: dict, lines: list[bytes], count: int) -> list[bytes]:
    transport, collector, port = await udp_collector()
    driver = await opened(tmp_path, "gelf", {"gelf-address": f"udp://127.0.0.1:{port}", **config})
    try:
        for line in lines:
            driver.write("stderr" if line.startswith(b"err") else "stdout", line)
        return [await collector.next() for _ in range(count)]
    finally:
        driver.close()
        transport.close()


async def test_gelf_udp_sends_gzipped_gelf_1_1_with_dockerds_fields(tmp_path):
    config = {"labels": "team", "env": "MODE", "tag": "{{.Name}}"}
    out, err = await gelf_messages(tmp_path, config, [b"hello <b>\n", b"err line\n"], 2)

    assert out[:2] == b"\x1f\x8b"
    message = json.loads(gzip.decompress(out))
    assert list(message)[:5] == ["version", "host", "short_message", "timestamp", "level"]
    assert list(message)[5:] == sorted(list(message)[5:])
    assert message == {
        "version": "1.1",
        "host": socket.gethostname(),
        "short_message": "hello <b>",
        "timestamp": message["timestamp"],
        "level": 6,
        "_MODE": "prod",
        "_command": "sh -c echo hi",
        "_container_id": CID,
        "_container_name": "web",
        "_created": "2024-01-02T03:04:05.12Z",
        "_image_id": "sha256:" + "f" * 64,
        "_image_name": "busybox:latest",
        "_tag": "web",
        "_team": "core",
    }
    assert round(message["timestamp"], 3) == message["timestamp"]
    assert b"\\u003cb\\u003e" in gzip.decompress(out)  # Go's HTML-safe JSON
    assert json.loads(gzip.decompress(err))["level"] == 3


@pytest.mark.parametrize(
    ("kind", "decode"),
    [("zlib", zlib.decompress), ("none", lambda data: data)],
)
async def test_gelf_compression_types(tmp_path, kind, decode):
    (data,) = await gelf_messages(tmp_path, {"gelf-compression-type": kind}, [b"hi\n"], 1)

    assert json.loads(decode(data))["short_message"] == "hi"


async def test_gelf_udp_chunks_long_messages_as_go_gelf(tmp_path):
    line = os.urandom(9000).hex().encode()[: MAX_PARTIAL - 1] + b"\n"
    config = {"gelf-compression-type": "none"}
    count = 12  # ~16.7 KB of JSON in chunks of 1408 bytes
    chunks = await gelf_messages(tmp_path, config, [line], count)

    assert all(c[:2] == b"\x1e\x0f" and len(c) <= 1420 for c in chunks)
    assert len({c[2:10] for c in chunks}) == 1  # one message ID
    assert sorted(c[10] for c in chunks) == list(range(count)) and {c[11] for c in chunks} == {
        count
    }
    whole = b"".join(c[12:] for c in sorted(chunks, key=lambda c: c[10]))
    assert json.loads(whole)["short_message"] == line[:-1].decode()


def test_gelf_refuses_messages_needing_more_than_128_chunks():
    with pytest.raises(ValueError, match="would need 129 chunks"):
        gelf.chunks(b"x" * (1408 * 128 + 1))


async def test_gelf_tcp_sends_null_terminated_uncompressed_json(tmp_path):
    stream, port = await tcp_collector()
    driver = await opened(tmp_path, "gelf", {"gelf-address": f"tcp://127.0.0.1:{port}"})
    driver.write("stdout", b"a\nb\n")
    data = await stream.until(lambda d: d.count(b"\0") >= 2)
    driver.close()
    await stream.close()

    first, second, rest = data.split(b"\0")
    assert rest == b""
    assert [json.loads(first)["short_message"], json.loads(second)["short_message"]] == ["a", "b"]


async def test_gelf_tcp_must_connect_at_start_as_go_gelf(tmp_path):
    port = free_port()
    with pytest.raises(errdefs.System) as caught:
        await opened(tmp_path, "gelf", {"gelf-address": f"tcp://127.0.0.1:{port}"})

    assert caught.value.message == (
        "failed to initialize logging driver: gelf: cannot connect to GELF endpoint: "
        f"127.0.0.1:{port} dial tcp 127.0.0.1:{port}: connect: connection refused"
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {},
            "gelf-address is a required parameter",
        ),
        (
            {"gelf-address": "127.0.0.1:12201"},
            "gelf-address should be in form proto://address, got 127.0.0.1:12201",
        ),
        (
            {"gelf-address": "unix:///s"},
            "gelf: endpoint needs to be TCP or UDP",
        ),
        (
            {"gelf-address": "udp://host"},
            "gelf: please provide gelf-address as proto://host:port",
        ),
        (
            {"gelf-address": "tcp://h:1", "gelf-compression-type": "gzip"},
            "compression is only supported on UDP",
        ),
        (
            {"gelf-address": "udp://h:1", "gelf-compression-level": "10"},
            'unknown value "10" for log opt "gelf-compression-level" for gelf log driver',
        ),
        (
            {"gelf-address": "udp://h:1", "gelf-tcp-max-reconnect": "3"},
            '"gelf-tcp-max-reconnect" is only valid for TCP',
        ),
        (
            {"gelf-address": "tcp://h:1", "gelf-tcp-reconnect-delay": "-1"},
            '"gelf-tcp-reconnect-delay" must be a positive integer',
        ),
    ],
)
def test_gelf_options_are_checked_at_create_with_dockerds_messages(config, message):
    with pytest.raises(errdefs.InvalidParameter) as caught:
        validate_log_config({"Type": "gelf", "Config": config})

    assert caught.value.message == message


# --- fluentd --------------------------------------------------------------------------------


def events(data: bytes) -> list:
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(data)
    return list(unpacker)


async def test_fluentd_sends_forward_protocol_events_as_fluent_logger_golang(tmp_path):
    stream, port = await tcp_collector()
    config = {"fluentd-address": f"127.0.0.1:{port}", "labels": "team", "tag": "docker.{{.Name}}"}
    driver = await opened(tmp_path, "fluentd", config)
    driver.write("stdout", b"hello\n")
    driver.write("stderr", b"oops\n")
    data = await stream.until(lambda d: len(events(d)) >= 2)
    driver.close()
    await stream.close()

    (tag, when, record, option), second = events(data)
    assert (tag, option) == ("docker.web", {})
    assert isinstance(when, int) and abs(when - __import__("time").time()) < 3600
    assert record == {
        "container_id": CID,
        "container_name": "/web",
        "source": "stdout",
        "log": "hello",
        "team": "core",
    }
    assert (second[2]["source"], second[2]["log"]) == ("stderr", "oops")


async def test_fluentd_sub_second_precision_sends_event_time(tmp_path):
    stream, port = await tcp_collector()
    config = {"fluentd-address": f"tcp://127.0.0.1:{port}", "fluentd-sub-second-precision": "true"}
    driver = await opened(tmp_path, "fluentd", config)
    driver.write("stdout", b"precise\n")
    data = await stream.until(lambda d: len(events(d)) >= 1)
    driver.close()
    await stream.close()

    when = events(data)[0][1]
    assert isinstance(when, msgpack.ExtType) and when.code == 0 and len(when.data) == 8
    seconds, nanos = struct.unpack(">II", when.data)
    assert seconds > 1_600_000_000 and nanos < 1_000_000_000


async def test_fluentd_over_a_unix_socket_with_partial_fields(tmp_path):
    stream = await unix_collector(tmp_path / "fluent.sock")
    driver = await opened(
        tmp_path, "fluentd", {"fluentd-address": f"unix://{tmp_path}/fluent.sock"}
    )
    driver.write("stdout", b"p" * (MAX_PARTIAL + 2) + b"\n")
    data = await stream.until(lambda d: len(events(d)) >= 2)
    driver.close()
    await stream.close()

    first, last = (event[2] for event in events(data))
    assert first["partial_message"] == last["partial_message"] == "true"
    assert first["partial_id"] == last["partial_id"]
    assert (first["partial_ordinal"], first["partial_last"]) == ("1", "false")
    assert (last["partial_ordinal"], last["partial_last"], last["log"]) == ("2", "true", "pp")


async def test_fluentd_request_ack_sends_a_chunk_option(tmp_path):
    stream, port = await tcp_collector()
    config = {"fluentd-address": f"127.0.0.1:{port}", "fluentd-request-ack": "true"}
    driver = await opened(tmp_path, "fluentd", config)
    driver.write("stdout", b"acked\n")
    data = await stream.until(lambda d: len(events(d)) >= 1)
    driver.close()
    await stream.close()

    option = events(data)[0][3]
    assert len(__import__("base64").b64decode(option["chunk"])) == 16


async def test_fluentd_without_async_must_connect_at_start(tmp_path):
    port = free_port()
    with pytest.raises(errdefs.System) as caught:
        await opened(tmp_path, "fluentd", {"fluentd-address": f"127.0.0.1:{port}"})

    assert caught.value.message == (
        f"failed to initialize logging driver: dial tcp 127.0.0.1:{port}: connect: "
        "connection refused"
    )


async def test_fluentd_async_connects_in_the_background_and_delivers_later(tmp_path):
    port = free_port()
    config = {
        "fluentd-address": f"127.0.0.1:{port}",
        "fluentd-async": "true",
        "cache-disabled": "1",
    }
    driver = await opened(tmp_path, "fluentd", config)
    driver.write("stdout", b"queued\n")
    stream, _ = await tcp_collector(port)
    data = await stream.until(lambda d: len(events(d)) >= 1)
    driver.close()
    await stream.close()

    assert events(data)[0][2]["log"] == "queued"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"fluentd-async": "1", "fluentd-async-connect": "1"},
            "conflicting options: cannot specify both 'fluentd-async' and 'fluentd-async-connect",
        ),
        (
            {"fluentd-retry-wait": "soon"},
            'time: invalid duration "soon"',
        ),
        (
            {"fluentd-retry-wait": "5"},
            'time: missing unit in duration "5"',
        ),
        (
            {"fluentd-max-retries": "-1"},
            'strconv.ParseUint: parsing "-1": invalid syntax',
        ),
        (
            {"fluentd-async": "sure"},
            'strconv.ParseBool: parsing "sure": invalid syntax',
        ),
        (
            {"fluentd-address": "tcp://a:b:c"},
            "invalid fluentd-address tcp://a:b:c: address a:b:c: too many colons in address",
        ),
        (
            {"fluentd-buffer-limit": "lots"},
            "invalid size: 'lots'",
        ),
    ],
)
def test_fluentd_options_are_checked_at_create_with_dockerds_messages(config, message):
    with pytest.raises(errdefs.InvalidParameter) as caught:
        validate_log_config({"Type": "fluentd", "Config": config})

    assert caught.value.message == message


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("500ms", 0.5), ("1m30s", 90.0), ("1.5h", 5400.0), ("0", 0.0), ("2us", 2e-6)],
)
def test_durations_parse_as_go(text, seconds):
    assert fluentd.parse_duration(text) == pytest.approx(seconds)


def test_fluentd_addresses():
    assert fluentd.parse_address("") == fluentd.parse_address("127.0.0.1:24224")
    assert fluentd.parse_address("fluent").port == 24224
    assert fluentd.parse_address("unix:///run/f.sock").path == "/run/f.sock"


# --- journald -------------------------------------------------------------------------------


def journal_fields(datagram: bytes) -> dict[str, str]:
    """Decode the journal's native protocol."""
    fields = {}
    pos = 0
    while pos < len(datagram):
        end = datagram.index(b"\n", pos)
        line = datagram[pos:end]
        if b"=" in line:
            key, _, value = line.partition(b"=")
            pos = end + 1
        else:
            key = line
            (size,) = struct.unpack("<Q", datagram[end + 1 : end + 9])
            value = datagram[end + 9 : end + 9 + size]
            pos = end + 9 + size + 1
        fields[key.decode()] = value.decode()
    return fields


async def test_journald_writes_the_native_protocol_with_dockerds_fields(tmp_path, monkeypatch):
    transport, collector = await unixgram_collector(tmp_path / "journal.sock")
    monkeypatch.setattr(journald, "SOCKET", str(tmp_path / "journal.sock"))
    driver = await opened(tmp_path, "journald", {"labels": "tier", "env": "MODE"})
    driver.write("stderr", b"broken\n")
    driver.write("stdout", b"q" * MAX_PARTIAL)
    first, second = await collector.next(), await collector.next()
    driver.close()
    transport.close()

    assert journal_fields(first) == {
        "PRIORITY": "3",
        "MESSAGE": "broken",
        "CONTAINER_ID": "0123456789ab",
        "CONTAINER_ID_FULL": CID,
        "CONTAINER_NAME": "web",
        "CONTAINER_TAG": "0123456789ab",
        "IMAGE_NAME": "busybox:latest",
        "SYSLOG_IDENTIFIER": "0123456789ab",
        "TIER": "web",
        "MODE": "prod",
    }
    assert journal_fields(second)["CONTAINER_PARTIAL_MESSAGE"] == "true"
    assert journal_fields(second)["PRIORITY"] == "6"


def test_journal_fields_with_newlines_use_the_binary_form():
    assert journald.field("MESSAGE", "a\nb") == b"MESSAGE\n" + struct.pack("<Q", 3) + b"a\nb\n"
    assert journald.sanitize_key("_my.label-x") == "MY_LABEL_X"


async def test_journald_is_refused_where_there_is_no_journal(tmp_path, monkeypatch):
    monkeypatch.setattr(journald, "SOCKET", str(tmp_path / "absent.sock"))

    with pytest.raises(errdefs.System) as caught:
        await opened(tmp_path, "journald", {})

    assert caught.value.message == (
        "failed to initialize logging driver: journald is not enabled on this host"
    )


def test_a_driver_that_fails_to_write_does_not_stop_the_copier(log_path, caplog):
    """A full disk must not kill the pump: the container would block on its pipe."""
    writer = JsonFileLog(log_path)
    os.close(writer._file._fd)  # every write now fails with EBADF
    writer._file._fd = os.open("/dev/null", os.O_RDONLY)

    writer.write("stdout", b"lost\n")
    writer.write("stdout", b"lost too\n")

    assert caplog.text.count("error writing log message") == 1  # rate-limited
    writer.close()


# --- the daemon's log-driver and log-opts (config.py) ----------------------------------------


def test_daemon_json_log_driver_and_log_opts_are_read(tmp_path):
    from dockerpy_engine.config import parse

    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"log-driver": "local", "log-opts": {"max-size": "10m"}}))

    cfg, _ = parse(["--config-file", str(path)])

    assert (cfg.log_driver, cfg.log_opts) == ("local", {"max-size": "10m"})


def test_log_driver_flags_and_their_defaults(tmp_path):
    from dockerpy_engine.config import parse

    path = tmp_path / "daemon.json"
    path.write_text("{}")

    default, _ = parse(["--config-file", str(path)])
    flagged, _ = parse(
        ["--config-file", str(path), "--log-driver", "syslog", "--log-opt", "tag=a=b"]
    )

    assert (default.log_driver, default.log_opts) == ("json-file", {})
    assert (flagged.log_driver, flagged.log_opts) == ("syslog", {"tag": "a=b"})


def test_log_opts_must_be_strings_as_dockerd_wants(tmp_path):
    from dockerpy_engine.config import ConfigError, parse

    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"log-opts": {"max-file": 3}}))

    with pytest.raises(ConfigError, match="log-opts must be a map of strings"):
        parse(["--config-file", str(path)])


async def test_a_log_longer_than_a_slice_is_read_whole_and_in_order(log_path, monkeypatch):
    """`docker logs` decodes a long log a slice at a time: records that straddle a slice's end,
    and a record longer than a slice, are read once each, in order."""
    monkeypatch.setattr(_files, "SLICE", 200)
    items = [
        ("stdout", f"line {i}\n", f"2024-01-01T00:00:{i % 60:02d}.000000001Z") for i in range(50)
    ]
    items.insert(10, ("stderr", "x" * 700 + "\n", "2024-01-01T00:00:59Z"))
    write_records(log_path, items)

    entries = await collect(stopped_reader(log_path))

    assert [(e.stream, e.data.decode()) for e in entries] == [(s, log) for s, log, _ in items]
