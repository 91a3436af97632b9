"""api/_params.py: query coercion with dockerd's rules (httputils.BoolValue & co) and JSON I/O."""

from __future__ import annotations

from urllib.parse import quote

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from dockerpy_engine.api._params import (
    Struct,
    json_body,
    json_response,
    qbool,
    qfilters,
    qint,
    typed_fields,
)
from dockerpy_engine.api.middleware import error_middleware
from dockerpy_engine.errdefs import InvalidParameter


def request(query: str = "") -> web.Request:
    return make_mocked_request("GET", "/containers/json" + ("?" + query if query else ""))


def filters_request(value: object) -> web.Request:
    raw = value if isinstance(value, str) else orjson.dumps(value).decode()
    return request("filters=" + quote(raw))


# --- qbool ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "0", "no", "false", "none", "False", "NO", " none ", "NONE"])
def test_qbool_falsy_words_are_false(raw):
    assert qbool(request("all=" + quote(raw)), "all", default=True) is False


@pytest.mark.parametrize("raw", ["1", "true", "True", "yes", "on", "2", "anything"])
def test_qbool_anything_else_is_true(raw):
    assert qbool(request("all=" + quote(raw)), "all") is True


def test_qbool_a_bare_key_without_value_is_false():
    """`?all` parses as all="" and dockerd's BoolValue treats "" as false."""
    assert qbool(request("all"), "all", default=True) is False


@pytest.mark.parametrize("default", [True, False])
def test_qbool_absent_key_is_the_default(default):
    assert qbool(request("other=1"), "all", default=default) is default


def test_qbool_default_default_is_false():
    assert qbool(request(), "all") is False


# --- qint ----------------------------------------------------------------------------------------


def test_qint_reads_an_integer():
    assert qint(request("t=5"), "t") == 5


def test_qint_reads_a_negative_integer():
    """`t=-1` is stop's "wait forever"."""
    assert qint(request("t=-1"), "t") == -1


@pytest.mark.parametrize("query", ["", "t=", "other=3"])
def test_qint_absent_or_empty_is_the_default(query):
    assert qint(request(query), "t", default=10) == 10


def test_qint_default_default_is_none():
    assert qint(request(), "t") is None


@pytest.mark.parametrize("raw", ["abc", "1.5", "5s", "0x10"])
def test_qint_malformed_value_is_invalid_parameter_naming_the_parameter(raw):
    with pytest.raises(InvalidParameter) as caught:
        qint(request("t=" + quote(raw)), "t")

    assert "t" in caught.value.message
    assert raw in caught.value.message


# --- qfilters ------------------------------------------------------------------------------------


def test_qfilters_absent_is_empty():
    assert qfilters(request()) == {}


def test_qfilters_empty_value_is_empty():
    assert qfilters(request("filters=")) == {}


def test_qfilters_list_form():
    parsed = qfilters(filters_request({"status": ["running", "exited"], "name": ["web"]}))

    assert parsed == {"status": ["running", "exited"], "name": ["web"]}


def test_qfilters_legacy_map_form_keeps_the_true_values():
    parsed = qfilters(filters_request({"label": {"a=b": True, "c": True, "off": False}}))

    assert parsed == {"label": ["a=b", "c"]}


def test_qfilters_list_values_are_strings():
    assert qfilters(filters_request({"exited": [0, 137]})) == {"exited": ["0", "137"]}


def test_qfilters_empty_object_is_empty():
    assert qfilters(filters_request({})) == {}


def test_qfilters_invalid_json_is_invalid_parameter():
    with pytest.raises(InvalidParameter, match="invalid filter"):
        qfilters(filters_request('{"status": ['))


def test_qfilters_json_that_is_not_an_object_is_invalid_parameter():
    with pytest.raises(InvalidParameter, match="invalid filter"):
        qfilters(filters_request(["status"]))


def test_qfilters_scalar_value_is_invalid_parameter():
    with pytest.raises(InvalidParameter, match="invalid filter"):
        qfilters(filters_request({"status": "running"}))


# --- json_response and json_body ----------------------------------------------------------------


def test_json_response_is_compact_json_with_the_json_content_type():
    response = json_response({"Id": "abc", "Warnings": []}, status=201)

    assert response.status == 201
    assert response.content_type == "application/json"
    assert response.body == b'{"Id":"abc","Warnings":[]}'


def test_json_response_defaults_to_200():
    assert json_response([]).status == 200


@pytest.fixture
async def body_client():
    async def required(request: web.Request) -> web.Response:
        return json_response({"got": await json_body(request)})

    async def optional(request: web.Request) -> web.Response:
        return json_response({"got": await json_body(request, required=False)})

    app = web.Application(middlewares=[error_middleware])
    app.router.add_post("/required", required)
    app.router.add_post("/optional", optional)
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_json_body_decodes_the_request_body(body_client):
    response = await body_client.post("/required", data=b'{"Image": "alpine"}')

    assert await response.json() == {"got": {"Image": "alpine"}}


async def test_json_body_empty_and_required_is_400(body_client):
    response = await body_client.post("/required", data=b"  ")

    assert response.status == 400
    assert (await response.json())["message"].startswith("invalid JSON")


async def test_json_body_empty_and_optional_is_none(body_client):
    response = await body_client.post("/optional", data=b"")

    assert await response.json() == {"got": None}


async def test_json_body_malformed_is_400(body_client):
    response = await body_client.post("/required", data=b'{"Image": ')

    assert response.status == 400
    assert (await response.json())["message"].startswith("invalid JSON")


# --- qint bounds ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["0", "65535", "24"])
def test_qint_within_bounds(raw):
    assert qint(request("h=" + raw), "h", bounds=(0, 65535)) == int(raw)


@pytest.mark.parametrize("raw", ["-1", "65536", str(2**70)])
def test_qint_out_of_bounds_is_the_clients_error(raw):
    with pytest.raises(InvalidParameter) as info:
        qint(request("h=" + raw), "h", bounds=(0, 65535))
    assert info.value.message == f"invalid value for h: {raw} is out of range [0, 65535]"


# --- typed_fields --------------------------------------------------------------------------------

_ULIMIT = Struct("Ulimit", {"Name": "string", "Soft": "int64"}, shape="[]")
_FIELDS = {
    "Cmd": "strslice.StrSlice",
    "Env": "[]string",
    "Tty": "bool",
    "Memory": "int64",
    "Weight": "uint16",
    "Size": "[2]uint",
    "Labels": "map[string]string",
    "Ports": "map[string]struct {}",
    "Ulimits": _ULIMIT,
    "Policy": Struct("RestartPolicy", {"Name": "string"}),
}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {key: None for key in _FIELDS},
        {"Cmd": "sh", "Env": [], "Tty": False, "Memory": -1, "Weight": 65535, "Size": [0, 0]},
        {"Cmd": ["a", "b"], "Labels": {}, "Ports": {"80/tcp": {}, "53/udp": None}},
        {"Ulimits": [], "Policy": {}, "Unknown": object()},
        {"Ulimits": [{"Name": "nofile", "Soft": 2**63 - 1}], "Policy": {"Name": None}},
    ],
)
def test_typed_fields_accepts_what_go_decodes(body):
    typed_fields(body, "Config", _FIELDS)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Cmd": 5}, "number 5 into Go struct field Config.Cmd of type strslice.StrSlice"),
        ({"Cmd": ["a", None]}, "array into Go struct field Config.Cmd of type strslice.StrSlice"),
        ({"Env": "A=1"}, "string into Go struct field Config.Env of type []string"),
        ({"Tty": 1}, "number 1 into Go struct field Config.Tty of type bool"),
        ({"Memory": True}, "bool into Go struct field Config.Memory of type int64"),
        ({"Memory": 1.5}, "number 1.5 into Go struct field Config.Memory of type int64"),
        ({"Memory": 2**63}, f"number {2**63} into Go struct field Config.Memory of type int64"),
        ({"Weight": -1}, "number -1 into Go struct field Config.Weight of type uint16"),
        ({"Size": [1]}, "array into Go struct field Config.Size of type [2]uint"),
        ({"Size": [1, -1]}, "array into Go struct field Config.Size of type [2]uint"),
        ({"Labels": {"a": 1}}, "object into Go struct field Config.Labels of type "
                               "map[string]string"),
        ({"Ports": {"80": 1}}, "object into Go struct field Config.Ports of type "
                               "map[string]struct {}"),
        ({"Ulimits": {}}, "object into Go struct field Config.Ulimits of type []Ulimit"),
        ({"Ulimits": [1]}, "array into Go struct field Config.Ulimits of type []Ulimit"),
        ({"Ulimits": [{"Soft": "1"}]}, "string into Go struct field Config.Ulimits.Soft of "
                                       "type int64"),
        ({"Policy": []}, "array into Go struct field Config.Policy of type RestartPolicy"),
        ({"Policy": {"Name": 0}}, "number 0 into Go struct field Config.Policy.Name of type "
                                  "string"),
    ],
)  # fmt: skip
def test_typed_fields_refuses_with_gos_words(body, message):
    with pytest.raises(InvalidParameter) as info:
        typed_fields(body, "Config", _FIELDS)
    assert info.value.message == "json: cannot unmarshal " + message


def test_typed_fields_makes_a_one_string_strslice_a_list():
    """As Go's StrSlice decoder: `"Cmd": "true"` is ["true"], never t, r, u, e."""
    body = {"Cmd": "true", "Env": ["A=1"], "Ulimits": [{"Name": "n"}]}
    typed_fields(body, "Config", _FIELDS)
    assert body == {"Cmd": ["true"], "Env": ["A=1"], "Ulimits": [{"Name": "n"}]}


def test_typed_fields_match_keys_without_case_as_go_does():
    """docker-py sends exec's `detachKeys`; Go's decoder fills DetachKeys from it. An exact
    key wins over a case-folded one; keys of no field are left as they are."""
    body = {"detachKeys": "ctrl-a", "cmd": ["true"], "Cmd": ["sh"], "hostconfig": {"memory": 5}}
    typed_fields(body, "ExecConfig", {"DetachKeys": "string", "Cmd": "strslice.StrSlice"})
    assert body == {
        "DetachKeys": "ctrl-a",
        "cmd": ["true"],
        "Cmd": ["sh"],
        "hostconfig": {"memory": 5},
    }
