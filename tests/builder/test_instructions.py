"""build/instructions.py: config-only instructions as dockerd's classic builder applies them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from dockerpy_engine.build.dockerfile import DockerfileError, Instruction, parse_syntax
from dockerpy_engine.build.instructions import (
    CONFIG_INSTRUCTIONS,
    ConfigState,
    apply_instruction,
    command_line,
    config_env,
    parse_duration,
    parse_port_spec,
    parse_signal,
    validate_instruction,
)
from dockerpy_engine.build.shell_lex import ShellLex


def instr(text: str) -> Instruction:
    return parse_syntax(text).instructions[0]


def run(
    lines: list[str], config: dict[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> ConfigState:
    """Apply Dockerfile lines to a config; `env` defaults to the config's own Env."""
    state = ConfigState(config or {})
    lex = ShellLex()
    for line in lines:
        apply_instruction(state, instr(line), lex, config_env(state.config) if env is None else env)
    return state


def fails(line: str, config: dict[str, Any] | None = None) -> str:
    with pytest.raises(DockerfileError) as info:
        run([line], config)
    return info.value.message


def test_config_instructions() -> None:
    names = "CMD ENTRYPOINT ENV LABEL EXPOSE USER WORKDIR VOLUME ONBUILD STOPSIGNAL HEALTHCHECK"
    assert frozenset([*names.split(), "SHELL", "MAINTAINER"]) == CONFIG_INSTRUCTIONS


def test_cmd_and_entrypoint_use_the_shell_and_do_not_expand() -> None:
    state = run(['SHELL ["/bin/bash", "-ec"]', "CMD echo $HOME", 'ENTRYPOINT ["/e", "$X"]'])
    assert state.config["Cmd"] == ["/bin/bash", "-ec", "echo $HOME"]  # kept: CMD came first
    assert state.config["Entrypoint"] == ["/e", "$X"]
    assert state.config["Shell"] == ["/bin/bash", "-ec"]
    assert command_line(state, instr("RUN make all")) == ["/bin/bash", "-ec", "make all"]
    assert command_line(ConfigState({}), instr('RUN ["make"]')) == ["make"]


def test_entrypoint_resets_cmd_unless_a_non_empty_cmd_came_first() -> None:
    assert run(["ENTRYPOINT top"], {"Cmd": ["sh"]}).config["Cmd"] is None
    assert run(["CMD []", 'ENTRYPOINT ["top"]'], {"Cmd": ["sh"]}).config["Cmd"] is None
    state = run(['CMD ["-b"]', "ENTRYPOINT top"])
    assert (state.config["Cmd"], state.cmd_set) == (["-b"], True)
    assert run(["ENTRYPOINT []"]).config["Entrypoint"] is None
    assert run(["ENTRYPOINT"]).config["Entrypoint"] is None
    assert run(["CMD"]).config["Cmd"] == ["/bin/sh", "-c"]  # dockerd's quirk for a bare CMD


def test_env_and_label() -> None:
    state = run(
        ["ENV a=1 PATH=$PATH:/x b=$a", "ENV c=$a", "LABEL l=$a \"sp ace\"='v w'"],
        {"Env": ["PATH=/bin", "HOME=/root"]},
    )
    # Replaced in place; `b` expands against the env from before its own instruction.
    assert state.config["Env"] == ["PATH=/bin:/x", "HOME=/root", "a=1", "b=", "c=1"]
    assert state.config["Labels"] == {"l": "1", "sp ace": "v w"}


def test_the_expansion_environment_is_the_callers() -> None:
    state = run(["USER $U", "WORKDIR /$D", "LABEL x=${U:-none}"], env={"U": "app", "D": "srv"})
    assert (state.config["User"], state.config["WorkingDir"]) == ("app", "/srv")
    assert state.config["Labels"] == {"x": "app"}
    assert "Env" not in state.config


def test_expose_splits_expanded_words() -> None:
    state = run(["EXPOSE $P 53/udp 8000-8001"], {"Env": ["P=80 443/tcp"]})
    assert set(state.config["ExposedPorts"]) == {
        "80/tcp",
        "443/tcp",
        "53/udp",
        "8000/tcp",
        "8001/tcp",
    }


def test_workdir_volume_user_stopsignal_maintainer() -> None:
    state = run(
        [
            "WORKDIR app",
            "WORKDIR ../lib//x/.",
            "VOLUME /a $V",
            'VOLUME [" /b ", "/c"]',
            "USER 1000:1000",
            "STOPSIGNAL SIGRTMIN+3",
            "MAINTAINER Jane <j@example.com>",
        ],
        {"WorkingDir": "/srv", "Env": ["V=/v"]},
    )
    assert state.config["WorkingDir"] == "/srv/lib/x"
    assert list(state.config["Volumes"]) == ["/a", "/v", "/b", "/c"]
    assert state.config["User"] == "1000:1000"
    assert state.config["StopSignal"] == "SIGRTMIN+3"
    assert state.maintainer == "Jane <j@example.com>"
    assert run(["WORKDIR //abs/./p"]).config["WorkingDir"] == "/abs/p"


def test_onbuild_stores_the_trigger_as_written() -> None:
    state = run(["onbuild  run echo $HOME", "ONBUILD ADD . /app"])
    assert state.config["OnBuild"] == ["run echo $HOME", "ADD . /app"]
    dockerfile = parse_syntax("ONBUILD RUN <<EOF\necho hi\nEOF\n")
    state = ConfigState({})
    apply_instruction(state, dockerfile.instructions[0], ShellLex(), {})
    assert state.config["OnBuild"] == ["RUN <<EOF\necho hi\nEOF"]


def test_healthcheck() -> None:
    line = "HEALTHCHECK --interval=5s --timeout=1m30s --start-period=0s --start-interval=1.5s "
    state = run([line + "--retries=3 CMD curl -f http://x/ || exit 1"])
    assert state.config["Healthcheck"] == {
        "Test": ["CMD-SHELL", "curl -f http://x/ || exit 1"],
        "Interval": 5 * 10**9,
        "Timeout": 90 * 10**9,
        "StartInterval": 1_500_000_000,
        "Retries": 3,
    }
    assert run(['HEALTHCHECK cmd ["true"]']).config["Healthcheck"] == {"Test": ["CMD", "true"]}
    # dockerd never looks at the flags of HEALTHCHECK NONE.
    assert run(["HEALTHCHECK --bogus NONE"]).config["Healthcheck"] == {"Test": ["NONE"]}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("CMD --x echo", "unknown flag: --x"),
        ("SHELL /bin/bash -c", "SHELL requires the arguments to be in JSON form"),
        ("SHELL []", "SHELL requires at least one argument"),
        ("ENV", "ENV requires at least one argument"),
        ("LABEL =x", "LABEL names can not be blank"),
        ("EXPOSE", "EXPOSE requires at least one argument"),
        ("EXPOSE 80/foo", "invalid proto: foo"),
        ("EXPOSE 8080:80", "invalid containerPort: 8080:80"),
        ("USER", "USER requires exactly one argument"),
        ("WORKDIR", "WORKDIR requires exactly one argument"),
        ("WORKDIR $NOPE", "cannot normalize nothing"),
        ("MAINTAINER", "MAINTAINER requires exactly one argument"),
        ("VOLUME", "VOLUME requires at least one argument"),
        ('VOLUME ["/a", " "]', "VOLUME specified can not be an empty string"),
        ("VOLUME $NOPE", "VOLUME specified can not be an empty string"),
        ("STOPSIGNAL", "STOPSIGNAL requires exactly one argument"),
        ("STOPSIGNAL SIGNOPE", "Invalid signal: SIGNOPE"),
        ("STOPSIGNAL 0", "Invalid signal: 0"),
        ("ONBUILD", "ONBUILD requires at least one argument"),
        ("ONBUILD onbuild RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
        ("ONBUILD from x", "FROM isn't allowed as an ONBUILD trigger"),
        ("ONBUILD MAINTAINER x", "MAINTAINER isn't allowed as an ONBUILD trigger"),
        ("HEALTHCHECK", "HEALTHCHECK requires at least one argument"),
        ("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"),
        ("HEALTHCHECK FOO x", 'Unknown type "FOO" in HEALTHCHECK (try CMD)'),
        ("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
        ("HEALTHCHECK CMD []", "Missing command after HEALTHCHECK CMD"),
        ("HEALTHCHECK --intervl=1s CMD x", "unknown flag: --intervl (did you mean interval?)"),
        ("HEALTHCHECK --interval=1s --interval=2s CMD x", "duplicate flag specified: --interval"),
        ("HEALTHCHECK --interval=500us CMD x", 'Interval "interval" cannot be less than 1ms'),
        ("HEALTHCHECK --timeout=-1s CMD x", 'Interval "timeout" cannot be less than 1ms'),
        ("HEALTHCHECK --interval=5 CMD x", 'time: missing unit in duration "5"'),
        ("HEALTHCHECK --retries=-1 CMD x", "--retries cannot be negative (-1)"),
        ("HEALTHCHECK --retries=x CMD x", 'strconv.ParseInt: parsing "x": invalid syntax'),
        ("HEALTHCHECK --retries=3000000000 CMD x", "value out of range"),
    ],
)
def test_errors_match_dockerd(line: str, message: str) -> None:
    assert fails(line).endswith(message)


def test_validation_happens_before_expansion() -> None:
    lex = ShellLex()
    validate_instruction(instr("USER $NOPE"), lex)  # fine until it runs
    with pytest.raises(DockerfileError) as info:
        validate_instruction(instr("USER"), lex)
    assert info.value.on_line(4).message == (
        "dockerfile parse error on line 4: USER requires exactly one argument"
    )


def test_a_failed_instruction_leaves_the_config_alone() -> None:
    state = ConfigState({"ExposedPorts": {"1/tcp": {}}})
    with pytest.raises(DockerfileError):
        apply_instruction(state, instr("EXPOSE 2 nope"), ShellLex(), {})
    assert state.config == {"ExposedPorts": {"1/tcp": {}}}


def test_helpers() -> None:
    assert parse_port_spec("7/UDP") == ["7/udp"]
    assert parse_port_spec("10-12/sctp") == ["10/sctp", "11/sctp", "12/sctp"]
    assert parse_duration("1m30s") == 90 * 10**9
    assert parse_duration("-1.5h") == -5400 * 10**9
    assert parse_duration("0") == parse_duration("+0") == 0
    assert parse_duration("1µs") == parse_duration("1us") == 1000
    for text, message in (("", 'invalid duration ""'), ("5x", 'unknown unit "x" in duration "5x"')):
        with pytest.raises(DockerfileError, match=message):
            parse_duration(text)
    assert parse_signal("SIGKILL") == parse_signal("kill") == parse_signal("9") == 9
    assert parse_signal("RTMAX-1") > parse_signal("RTMIN+1")
    with pytest.raises(DockerfileError, match="Invalid signal: SIG_DFL"):
        parse_signal("SIG_DFL")
    assert config_env({"Env": ["A=1", "B", "A=2=3"]}) == {"A": "2=3", "B": ""}
