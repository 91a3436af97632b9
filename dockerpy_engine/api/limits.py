"""What one request may send and how long its headers may take: dockerd's limits, in aiohttp.

dockerd serves the API with Go's `http.Server{ReadHeaderTimeout: 5 * time.Minute}` and leaves
the rest at Go's defaults:

- the request line and headers may take 1 MiB (`http.DefaultMaxHeaderBytes`). aiohttp bounds each
  line and each header field instead of their sum, so both get Go's whole budget: any header Go
  takes fits here, such as the docker CLI's `X-Registry-Config`, which carries every credential in
  config.json to a build (aiohttp's own 8190 bytes are a few dozen registries). The count of
  fields stays at aiohttp's 128, which keeps a request's headers within 128 MiB where Go keeps
  them within 1 MiB: the price of a per-field parser. Over a limit, aiohttp answers 400 with what
  was too long (Go answers 431) and closes that connection only.
- the headers must be complete 5 minutes after the connection opened or its previous response
  went out; then the connection is closed without an answer, as Go does. aiohttp's keep-alive
  timer does both: it also closes a connection idle that long between requests, where Go would
  keep it (docker's and docker-py's pools reconnect). `DOCKERPY_READ_HEADER_TIMEOUT` (seconds)
  shortens it; the integration tests do, to see a slow client dropped.
- bodies are unlimited in Go: dockerd decodes JSON from the stream. Ours are read whole before
  decoding, so a JSON body is capped at MAX_JSON_BODY (413, Go's MaxBytesReader wording). Archive
  and tar uploads (cp, load, import, build) are streamed and have no cap, as in dockerd.

A slow client holds only its own connection: every read and write is awaited on the event loop,
so headers trickled a byte at a time or a response nobody reads cost a parser and a buffer each,
never a thread or the loop.
"""

from __future__ import annotations

import os
from typing import Any

MAX_HEADER_BYTES = 1 << 20
"""Go's http.DefaultMaxHeaderBytes: the request line, and each header field."""
MAX_HEADER_FIELDS = 128
READ_HEADER_TIMEOUT = 300.0
"""dockerd's ReadHeaderTimeout (5 minutes), in seconds."""
MAX_JSON_BODY = 4 << 20
"""Twice the kernel's default ARG_MAX: a create's Env and Cmd, the biggest parts of any JSON body
a client sends, cannot exec beyond 2 MiB, and decoding 4 MiB costs at most ~120 MiB for a moment."""
BODY_TOO_LARGE = "http: request body too large"
READ_HEADER_TIMEOUT_ENV = "DOCKERPY_READ_HEADER_TIMEOUT"


def read_header_timeout() -> float:
    """dockerd's 5 minutes, or the environment's shorter (or longer) figure."""
    raw = os.environ.get(READ_HEADER_TIMEOUT_ENV, "")
    try:
        value = float(raw)
    except ValueError:
        return READ_HEADER_TIMEOUT
    return value if value > 0 else READ_HEADER_TIMEOUT


def server_options() -> dict[str, Any]:
    """The aiohttp runner's keyword arguments that carry these limits."""
    return {
        "max_line_size": MAX_HEADER_BYTES,
        "max_field_size": MAX_HEADER_BYTES,
        "max_headers": MAX_HEADER_FIELDS,
        "keepalive_timeout": read_header_timeout(),
    }
