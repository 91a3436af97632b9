"""cli.format: go-units sizes and durations, Go's tabwriter, Ellipsis, time strings, and the
inspect re-indenter, with values checked against the docker CLI's output."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from cli.actions._common import indent_json
from cli.format import (
    FormatError,
    Formatter,
    bytes_size,
    ellipsis,
    go_time,
    human_duration,
    human_size,
    human_size_precision,
    parse_go_duration,
    parse_time,
    tabwrite,
    truncate_id,
)


@pytest.mark.parametrize(
    ("size", "precision", "text"),
    [
        (1983000, 3, "1.98MB"),  # docker images SIZE for our busybox
        (1983000, 4, "1.983MB"),  # its VirtualSize (HumanSize)
        (0, 3, "0B"),
        (999, 3, "999B"),
        (1000, 3, "1kB"),
        (1500, 4, "1.5kB"),
        (123456789, 3, "123MB"),
        (999_500, 3, "1e+03kB"),  # Go's %.3g does the same
    ],
)
def test_human_size(size: int, precision: int, text: str) -> None:
    assert human_size_precision(size, precision) == text


def test_human_size_defaults_and_binary() -> None:
    assert human_size(1983000) == "1.983MB"
    assert bytes_size(25276502016) == "23.54GiB"  # docker info's Total Memory here
    assert bytes_size(1024) == "1KiB"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.4, "Less than a second"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "About a minute"),
        (119, "About a minute"),
        (120, "2 minutes"),
        (3599, "59 minutes"),
        (3600, "About an hour"),
        (5399, "About an hour"),
        (5400, "2 hours"),
        (47 * 3600, "47 hours"),
        (48 * 3600, "2 days"),
        (14 * 86400, "2 weeks"),
        (60 * 86400, "2 months"),
        (2 * 365 * 86400, "2 years"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_ellipsis_counts_display_cells() -> None:
    assert ellipsis("echo hello world this is long", 20) == "echo hello world th…"
    assert ellipsis("short", 20) == "short"
    assert ellipsis("日本語のテキスト", 7) == "日本語…"
    assert ellipsis("abc", 1) == "…"


def test_truncate_id() -> None:
    assert truncate_id("sha256:654d1a11ecef08dd650695963100e5d9") == "654d1a11ecef"
    assert truncate_id("16006ff5e541c96af67a3f6acd6ae5b6") == "16006ff5e541"


def test_tabwriter_like_go() -> None:
    text = "CONTAINER ID\tIMAGE\tNAMES\n16006ff5e541\tbusybox\ts1\n"
    assert tabwrite(text) == ("CONTAINER ID   IMAGE     NAMES\n16006ff5e541   busybox   s1\n")
    # empty cells still take minwidth; the last cell of a line is not padded
    assert (
        tabwrite("A\t\tB\nxx\t\tyy\n")
        == "A         " + " " * 10 + "B\nxx        " + " " * 10 + "yy\n"
    )
    # a line without tabs ends the column block
    assert tabwrite("a\tb\nplain\nlonger-cell\tc\n") == ("a         b\nplain\nlonger-cell   c\n")
    # docker version's writer (minwidth 20, padding 1) pads an empty last-but-one cell
    assert tabwrite(" Built:\t\n", minwidth=20, padding=1) == " Built:" + " " * 13 + "\n"


def test_go_time_and_parse_time() -> None:
    assert go_time(0, dt.UTC) == "1970-01-01 00:00:00 +0000 UTC"
    assert parse_time("1700000000") == "1700000000"
    assert parse_time("10m", now=1000.0) == "400.000000000"
    assert parse_time("2024-01-02T03:04:05Z") == "1704164645.000000000"
    with pytest.raises(ValueError):
        parse_time("yesterday")
    assert parse_go_duration("1h30m") == 5400.0
    assert parse_go_duration("1.5s") == 1.5
    assert parse_go_duration("5x") is None


def test_indent_json_is_go_json_indent() -> None:
    raw = b'[{"Id":"a","Args":[],"Cfg":{},"L":{"k":"v \\" ,:{}"},"N":[1,2.50,null,true]}]'
    out = indent_json(raw)
    assert out == (
        "[\n"
        "    {\n"
        '        "Id": "a",\n'
        '        "Args": [],\n'
        '        "Cfg": {},\n'
        '        "L": {\n'
        '            "k": "v \\" ,:{}"\n'
        "        },\n"
        '        "N": [\n'
        "            1,\n"
        "            2.50,\n"
        "            null,\n"
        "            true\n"
        "        ]\n"
        "    }\n"
        "]"
    )
    assert json.loads(out) == json.loads(raw)
    assert indent_json(b"[]") == "[]"


def test_formatter_table_json_and_errors() -> None:
    rows = [{"Name": "a", "Size": 1}, {"Name": "bbbbbbbbbbbbb", "Size": 22}]
    out: list[str] = []
    Formatter("table {{.Name}}\\t{{.Size}}", {"Name": "NAME", "Size": "SIZE"}).render(
        rows, out.append
    )
    assert "".join(out) == "NAME            SIZE\na               1\nbbbbbbbbbbbbb   22\n"
    out.clear()
    Formatter("{{.Name}}", {}).render(rows, out.append)
    assert "".join(out) == "a\nbbbbbbbbbbbbb\n"
    out.clear()
    Formatter("json", {}).render([{"b": 1, "a": 2}], out.append)
    assert "".join(out) == '{"a":2,"b":1}\n'
    with pytest.raises(FormatError) as e:
        Formatter("{{.Name", {})
    assert str(e.value) == "template parsing error: template: :1: unclosed action"
    # the header row still prints when there are no rows
    out.clear()
    Formatter("table {{.Name}}", {"Name": "NAME"}).render([], out.append)
    assert "".join(out) == "NAME\n"
