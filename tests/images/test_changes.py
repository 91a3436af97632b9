"""`--change` instructions: the whitelist, both command forms, ENV/LABEL syntaxes, expansion."""

from __future__ import annotations

import pytest

from dockerpy_engine.build.instructions import parse_duration, parse_port_spec
from dockerpy_engine.errdefs import InvalidParameter
from dockerpy_engine.images.changes import apply_changes


def test_cmd_and_entrypoint_forms() -> None:
    cfg = apply_changes({}, ['CMD ["/bin/echo", "hi"]', "ENTRYPOINT /entry.sh --flag"])
    assert cfg["Cmd"] == ["/bin/echo", "hi"]
    assert cfg["Entrypoint"] == ["/bin/sh", "-c", "/entry.sh --flag"]
    assert apply_changes({}, ["CMD echo $HOME"])["Cmd"] == ["/bin/sh", "-c", "echo $HOME"]
    assert apply_changes({}, ["cmd [not json"])["Cmd"] == ["/bin/sh", "-c", "[not json"]


def test_entrypoint_resets_an_inherited_cmd() -> None:
    assert apply_changes({"Cmd": ["sh"]}, ['ENTRYPOINT ["top"]'])["Cmd"] is None
    cfg = apply_changes({"Cmd": ["sh"]}, ['CMD ["-b"]', 'ENTRYPOINT ["top"]'])
    assert cfg["Cmd"] == ["-b"]


def test_env_forms_and_expansion() -> None:
    cfg = apply_changes(
        {"Env": ["PATH=/usr/bin"]},
        ['ENV a=b c="d e" PATH=$PATH:/opt/bin', "ENV single value with spaces", "ENV x=${a}y"],
    )
    assert cfg["Env"] == [
        "PATH=/usr/bin:/opt/bin",
        "a=b",
        "c=d e",
        "single=value with spaces",
        "x=by",
    ]
    assert apply_changes({}, ["ENV q='$a' r=\\$s t=${u:-dflt}"])["Env"] == [
        "q=$a",
        "r=$s",
        "t=dflt",
    ]


def test_label_expose_user_workdir_volume_onbuild_stopsignal() -> None:
    cfg = apply_changes(
        {"WorkingDir": "/srv"},
        [
            'LABEL version=1.0 "com.example.name"="my app"',
            "EXPOSE 80 53/udp 8000-8001",
            "USER nobody:nogroup",
            "WORKDIR app",
            'VOLUME ["/data", "/logs"]',
            "VOLUME /cache /tmp/x",
            "ONBUILD RUN echo hi",
            "STOPSIGNAL SIGKILL",
        ],
    )
    assert cfg["Labels"] == {"version": "1.0", "com.example.name": "my app"}
    assert set(cfg["ExposedPorts"]) == {"80/tcp", "53/udp", "8000/tcp", "8001/tcp"}
    assert cfg["User"] == "nobody:nogroup"
    assert cfg["WorkingDir"] == "/srv/app"
    assert set(cfg["Volumes"]) == {"/data", "/logs", "/cache", "/tmp/x"}
    assert cfg["OnBuild"] == ["RUN echo hi"]
    assert cfg["StopSignal"] == "SIGKILL"


def test_healthcheck() -> None:
    cfg = apply_changes({}, ["HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://x/"])
    assert cfg["Healthcheck"] == {
        "Test": ["CMD-SHELL", "curl -f http://x/"],
        "Interval": 5_000_000_000,
        "Retries": 3,
    }
    assert apply_changes({}, ["HEALTHCHECK NONE"])["Healthcheck"] == {"Test": ["NONE"]}
    assert apply_changes({}, ['HEALTHCHECK CMD ["true"]'])["Healthcheck"]["Test"] == [
        "CMD",
        "true",
    ]


def test_input_config_is_not_mutated() -> None:
    base = {"Env": ["A=1"], "Labels": {"x": "y"}}
    apply_changes(base, ["ENV A=2", "LABEL x=z"])
    assert base == {"Env": ["A=1"], "Labels": {"x": "y"}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("RUN echo hi", "run is not a valid change command"),
        ("FROM busybox", "from is not a valid change command"),
        ("COPY a b", "copy is not a valid change command"),
        ("ENV onlyname", "ENV must have two arguments"),
        ("ENV a=b c", 'Syntax error - can\'t find = in "c". Must be of the form: name=value'),
        ("LABEL", "LABEL requires at least one argument"),
        ("ONBUILD ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
        ("ONBUILD FROM x", "FROM isn't allowed as an ONBUILD trigger"),
        ("EXPOSE 80/foo", "invalid proto: foo"),
        ("EXPOSE abc", "invalid containerPort: abc"),
        ("STOPSIGNAL SIGNOPE", "Invalid signal: SIGNOPE"),
        ('VOLUME [""]', "VOLUME specified can not be an empty string"),
        ("HEALTHCHECK FOO", 'Unknown type "FOO" in HEALTHCHECK (try CMD)'),
    ],
)
def test_errors_match_dockerd(change: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        apply_changes({}, [change])
    assert info.value.message == message


def test_bad_line_changes_nothing_even_after_good_ones() -> None:
    with pytest.raises(InvalidParameter):
        apply_changes({}, ["ENV a=b", "RUN x"])


def test_comments_and_blank_lines_are_ignored() -> None:
    assert apply_changes({}, ["", "# a comment", "USER x"]) == {"User": "x"}


def test_helpers() -> None:
    assert parse_port_spec("7/UDP") == ["7/udp"]
    assert parse_duration("1m30s") == 90 * 10**9
    assert parse_duration("500ms") == 500_000_000
