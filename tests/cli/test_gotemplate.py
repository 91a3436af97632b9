"""cli.gotemplate against the real docker CLI: every expectation below is what
`docker version --format TEMPLATE` printed for the same template (against our daemon, whose
/version answer is VERSION below), plus parse/execute error texts and docker's table rules."""

from __future__ import annotations

import pytest

from cli import gotemplate
from cli.gotemplate import ExecError, GoStruct, HeaderMap, ParseError, go_json, go_sprint, parse

VERSION = {
    "Client": {"Version": "28.2.2", "ApiVersion": "1.50"},
    "Server": {
        "Platform": {"Name": "dockerpy-engine"},
        "Components": [
            {"Name": "Engine", "Version": "0.1.0", "Details": {"ApiVersion": "1.51"}},
            {"Name": "containerd", "Version": "1.6.20~ds1", "Details": {"GitCommit": ""}},
            {"Name": "runc", "Version": "1.1.5", "Details": {"GitCommit": ""}},
        ],
        "Version": "0.1.0",
    },
}

# (template, what docker 28.2.2 printed without the trailing newline)
DOCKER_CASES = [
    (
        '{{printf "%5s|%-4d|%03d|%q|%v|%t" "ab" 3 7 "x\\"y" 1.5 true}}',
        '   ab|3   |007|"x\\"y"|1.5|true',
    ),
    ('{{join (split "a,b,c" ",") "-"}}', "a-b-c"),
    ('{{title "hello wORLD-x y_z"}}', "Hello WORLD-X Y_z"),
    ('{{upper "abc"}} {{lower "ABC"}}', "ABC abc"),
    ('{{len "héllo"}} {{len (split "a,b" ",")}}', "6 2"),
    (
        '{{truncate "abcdef" 3}}|{{truncate "ab" 3}}|{{pad "x" 1 2}}|{{pad "" 1 2}}|',
        "abc|ab| x  ||",
    ),
    ('{{range $i, $e := split "a,b,c" ","}}{{$i}}={{$e}};{{end}}', "0=a;1=b;2=c;"),
    ('{{range split "" ","}}[{{.}}]{{else}}empty{{end}}', "[]"),
    ('{{if eq "a" "b"}}yes{{else if eq "a" "a"}}second{{else}}no{{end}}', "second"),
    ('{{index (split "x,y,z" ",") 1}}', "y"),
    ('{{println "a" 1 2}}{{print "a" 1 2 "b"}}', "a 1 2\na1 2b"),
    ('{{json "a<b>&"}} {{json 5}} {{json (split "a,b" ",")}}', '"a<b>&" 5 ["a","b"]'),
    ('{{- "  trimmed  " -}}   |', "  trimmed  |"),
    ("{{/* a comment */}}after", "after"),
    ('{{$x := "v"}}{{$x}}{{$x = "w"}}{{$x}}', "vw"),
    ('{{with "val"}}{{.}}{{end}}{{with ""}}x{{else}}none{{end}}', "valnone"),
    ('{{and 1 0 2}} {{or 0 "" "z"}} {{not true}}', "0 z false"),
    ('{{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}} {{ne 1 2}}', "true true true false true"),
    (
        "{{range $k, $v := .Server.Components}}{{$k}}:{{$v.Name}} {{end}}",
        "0:Engine 1:containerd 2:runc ",
    ),
    (
        '{{range .Server.Components}}{{if eq .Name "runc"}}{{break}}{{end}}{{.Name}},{{end}}',
        "Engine,containerd,",
    ),
    (
        '{{range .Server.Components}}{{if eq .Name "Engine"}}{{continue}}{{end}}{{.Name}},{{end}}',
        "containerd,runc,",
    ),
    ('{{.Server.Platform.Name | upper | printf "%s!"}}', "DOCKERPY-ENGINE!"),
    ("{{(index .Server.Components 0).Name}}", "Engine"),
    ("{{len .Server.Components}}", "3"),
    ('{{slice "abcdef" 1 3}}', "bc"),
    ('{{printf "%x %X %5.2f %-5s| %c" "hi" 255 3.14159 "ab" 65}}', "6869 FF  3.14 ab   | A"),
    ('{{printf "%d" "x"}}', "%!d(string=x)"),
    ('{{printf "%s %s" "a"}}', "a %!s(MISSING)"),
    ('{{printf "%s" "a" "b"}}', "a%!(EXTRA string=b)"),
    ("{{html \"<a href='x'>&</a>\"}}", "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"),
    ('{{urlquery "a b&c"}}', "a+b%26c"),
    ("{{eq 1 1 2}}", "true"),
    ("{{range 3}}{{.}}{{end}}", "012"),
]


@pytest.mark.parametrize(("template", "expected"), DOCKER_CASES)
def test_matches_docker(template: str, expected: str) -> None:
    assert parse(template).execute(VERSION) == expected


def test_field_paths_and_missing_keys() -> None:
    data = {"State": {"Status": "running", "Pid": 3}, "Labels": {"b": "2", "a": "1"}}
    assert parse("{{.State.Status}}/{{.State.Pid}}").execute(data) == "running/3"
    assert parse("{{.Nope}}").execute(data) == "<no value>"
    assert parse("{{.State}}").execute(data) == "map[Pid:3 Status:running]"
    assert parse('{{index .Labels "a"}}|{{index .Labels "zz"}}|').execute(data) == "1||"
    with pytest.raises(ExecError) as e:
        parse("{{.Foo}}").execute(data, missingkey_error=True)
    assert str(e.value) == 'template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo"'


def test_struct_errors_read_like_go() -> None:
    class Ctx(GoStruct):
        _go_type = "*formatter.ContainerContext"
        _go_fields = ("Names",)
        Names = "web"

    assert parse("{{.Names}}").execute(Ctx()) == "web"
    with pytest.raises(ExecError) as e:
        parse("{{.Foo}}").execute(Ctx())
    assert str(e.value) == (
        'template: :1:2: executing "" at <.Foo>: '
        "can't evaluate field Foo in type *formatter.ContainerContext"
    )


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{.Names", "template: :1: unclosed action"),
        ("{{foo}}", 'template: :1: function "foo" not defined'),
        ("{{end}}", "template: :1: unexpected {{end}}"),
        ("{{if 1}}x", "template: :1: unexpected EOF"),
        ("{{$x}}", 'template: :1: undefined variable "$x"'),
        ("{{break}}", "template: :1: {{break}} outside {{range}}"),
    ],
)
def test_parse_errors(template: str, message: str) -> None:
    with pytest.raises(ParseError) as e:
        parse(template)
    assert str(e.value) == message


def test_json_follows_encoding_json() -> None:
    assert go_json({"b": 1, "a": "x"}) == '{"a":"x","b":1}'  # a map: sorted keys
    assert go_json({"Id": "1", "Name": "n"}) == '{"Id":"1","Name":"n"}'  # a struct: in order
    assert go_json("<&>") == '"<&>"'
    assert go_json("<&>", escape_html=True) == '"\\u003c\\u0026\\u003e"'
    assert go_json(None) == "null"
    assert go_json("é") == '"é"'


def test_sprint_like_fmt() -> None:
    assert go_sprint(None) == "<nil>"
    assert go_sprint([1, "a", None]) == "[1 a <nil>]"
    assert go_sprint(1e6) == "1e+06"
    assert go_sprint(123456.0) == "123456"
    assert go_sprint(0.5) == "0.5"
    assert go_sprint(True) == "true"


def test_header_row_functions_pass_titles_through() -> None:
    headers = HeaderMap({"Names": "NAMES", "ID": "CONTAINER ID"})
    t = parse('{{.Names | lower}}\t{{truncate .ID 3}}\t{{.Label "com.x.my-label"}}')
    assert t.execute(headers, funcs=gotemplate.header_funcs()) == "NAMES\tCONTAINER ID\tmy label"


def test_whitespace_trimming_and_newlines() -> None:
    assert parse("a  {{- 1 -}}  b\n{{- 2}}").execute(None) == "a1b2"
    assert parse("{{range .}}{{.}}\n{{end}}").execute(["x", "y"]) == "x\ny\n"
    assert parse("{{range $k, $v := .}}{{$k}}={{$v}},{{end}}").execute({"b": 2, "a": 1}) == (
        "a=1,b=2,"
    )
