"""api/_streams.py: stdcopy frames and hijacked (101 Upgrade: tcp) connections."""

from __future__ import annotations

import asyncio
import struct

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from dockerpy_engine.api._streams import (
    MULTIPLEXED_STREAM,
    RAW_STREAM,
    STDERR,
    STDIN,
    STDOUT,
    Hijacked,
    stdcopy_frame,
    stream_type,
)

TIMEOUT = 5

# --- stdcopy_frame -------------------------------------------------------------------------------


def test_stream_numbers_are_stdcopys():
    assert (STDIN, STDOUT, STDERR) == (0, 1, 2)


def test_content_types_are_dockers():
    assert RAW_STREAM == "application/vnd.docker.raw-stream"
    assert MULTIPLEXED_STREAM == "application/vnd.docker.multiplexed-stream"


def test_stdout_frame_header_is_stream_three_zeros_and_big_endian_size():
    assert stdcopy_frame(STDOUT, b"hi\n") == b"\x01\x00\x00\x00\x00\x00\x00\x03hi\n"


def test_stderr_frame_header_names_stream_two():
    assert stdcopy_frame(STDERR, b"oops") == b"\x02\x00\x00\x00\x00\x00\x00\x04oops"


def test_an_empty_payload_is_a_bare_eight_byte_header():
    assert stdcopy_frame(STDOUT, b"") == b"\x01\x00\x00\x00\x00\x00\x00\x00"


def test_a_large_payload_size_uses_all_four_size_bytes():
    payload = b"x" * 0x01020304

    frame = stdcopy_frame(STDERR, payload)

    assert frame[:8] == b"\x02\x00\x00\x00\x01\x02\x03\x04"
    assert len(frame) == 8 + len(payload)


def test_a_frame_decodes_as_docker_pys_demultiplexer_reads_it():
    frame = stdcopy_frame(STDERR, b"payload") + stdcopy_frame(STDOUT, b"more")

    stream, size = struct.unpack(">BxxxL", frame[:8])
    assert (stream, frame[8 : 8 + size]) == (STDERR, b"payload")
    stream, size = struct.unpack(">BxxxL", frame[8 + size : 16 + size])
    assert (stream, frame[-size:]) == (STDOUT, b"more")


# --- Hijacked ------------------------------------------------------------------------------------


class Attach:
    """A handler that echoes stdin back like `docker run -i cat`, then says goodbye after EOF."""

    def __init__(self, server_app: web.Application) -> None:
        self.received = b""
        self.saw_eof = asyncio.Event()
        server_app.router.add_post("/containers/{id}/attach", self.handle)
        self.server = TestServer(server_app)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        hijacked = await Hijacked.upgrade(request, RAW_STREAM)
        while (chunk := await hijacked.read()) is not None:
            self.received += chunk
            await hijacked.write(b"echo:" + chunk)
        self.saw_eof.set()
        await hijacked.write(b"bye after eof")
        hijacked.close()
        return hijacked.response


@pytest.fixture
async def attach():
    handler = Attach(web.Application())
    await handler.server.start_server()
    yield handler
    await handler.server.close()


async def open_raw(handler: Attach) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(handler.server.host, handler.server.port)


async def send_request(writer: asyncio.StreamWriter, *, upgrade: bool) -> None:
    lines = [
        "POST /containers/abc/attach?stream=1&stdin=1&stdout=1 HTTP/1.1",
        "Host: docker",
        "Content-Type: text/plain",
    ]
    if upgrade:
        lines += ["Connection: Upgrade", "Upgrade: tcp"]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()


async def read_head(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    status, *header_lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    headers = {}
    for line in header_lines:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return status, headers


async def read_exactly(reader: asyncio.StreamReader, n: int) -> bytes:
    return await asyncio.wait_for(reader.readexactly(n), TIMEOUT)


async def test_upgrade_answers_101_switching_protocols_with_upgrade_tcp(attach):
    reader, writer = await open_raw(attach)
    try:
        await send_request(writer, upgrade=True)

        status, headers = await read_head(reader)

        assert status == "HTTP/1.1 101 Switching Protocols"
        assert headers["connection"].lower() == "upgrade"
        assert headers["upgrade"] == "tcp"
        assert headers["content-type"] == RAW_STREAM
        assert "content-length" not in headers
        assert "transfer-encoding" not in headers
    finally:
        writer.close()


async def test_hijacked_bytes_flow_both_ways(attach):
    reader, writer = await open_raw(attach)
    try:
        await send_request(writer, upgrade=True)
        await read_head(reader)

        writer.write(b"hello")
        await writer.drain()
        assert await read_exactly(reader, len(b"echo:hello")) == b"echo:hello"

        writer.write(b"again")
        await writer.drain()
        assert await read_exactly(reader, len(b"echo:again")) == b"echo:again"
    finally:
        writer.close()


async def test_half_close_ends_stdin_but_output_still_flows_back(attach):
    """`docker run -i` half-closes (CloseWrite) when its stdin ends and keeps reading: the
    handler must see the end of input, and what it writes afterwards must still arrive."""
    reader, writer = await open_raw(attach)
    try:
        await send_request(writer, upgrade=True)
        await read_head(reader)
        writer.write(b"last input")
        await writer.drain()
        assert await read_exactly(reader, len(b"echo:last input")) == b"echo:last input"

        writer.write_eof()

        await asyncio.wait_for(attach.saw_eof.wait(), TIMEOUT)
        assert attach.received == b"last input"
        assert await asyncio.wait_for(reader.read(), TIMEOUT) == b"bye after eof"
    finally:
        writer.close()


async def test_without_upgrade_the_answer_is_200_with_a_raw_body(attach):
    reader, writer = await open_raw(attach)
    try:
        await send_request(writer, upgrade=False)

        status, headers = await read_head(reader)

        assert status == "HTTP/1.1 200 OK"
        assert headers["content-type"] == RAW_STREAM
        assert "transfer-encoding" not in headers
        writer.write_eof()
        assert await asyncio.wait_for(reader.read(), TIMEOUT) == b"bye after eof"
    finally:
        writer.close()


def test_stream_type_labels_frames_from_api_1_42() -> None:
    assert stream_type(False, "1.42") == MULTIPLEXED_STREAM
    assert stream_type(False, "1.41") == RAW_STREAM
    assert stream_type(True, "1.51") == RAW_STREAM
