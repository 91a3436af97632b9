"""cli._command and cli.main: docker's (pflag/cobra) grammar, its error texts and exit
statuses, and the help layout, as `docker 28` prints them."""

from __future__ import annotations

import io

import pytest

from cli import _command, main

main._load_commands()


def parse(words: list[str]) -> tuple[_command.Command, dict, list[str]]:
    cmd, _invoked, rest = _command.find(words)
    assert cmd is not None
    values, positionals, _ = _command.parse_args(cmd, rest)
    return cmd, values, positionals


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = main.sys.stdout, main.sys.stderr
    main.sys.stdout, main.sys.stderr = out, err
    try:
        status = main.main(argv)
    finally:
        main.sys.stdout, main.sys.stderr = old
    return status, out.getvalue(), err.getvalue()


def test_short_bundles_values_and_booleans() -> None:
    _, values, pos = parse(["ps", "-aq", "-n5", "--filter", "name=x", "-f=status=exited"])
    assert values == {"all": True, "quiet": True, "last": 5, "filter": ["name=x", "status=exited"]}
    assert pos == []
    _, values, _ = parse(["container", "ls", "--all=false", "--last=3", "-n", "7"])
    assert values == {"all": False, "last": 7}


def test_run_stops_at_the_image_but_rm_does_not() -> None:
    _, values, pos = parse(["run", "--rm", "-e", "A=1", "busybox", "sh", "-c", "echo -n x"])
    assert values == {"rm": True, "env_": ["A=1"]}
    assert pos == ["busybox", "sh", "-c", "echo -n x"]
    _, values, pos = parse(["rm", "a", "-f", "b"])
    assert values == {"force": True} and pos == ["a", "b"]
    _, values, pos = parse(["exec", "-it", "c1", "ls", "-l"])
    assert values == {"interactive": True, "tty": True} and pos == ["c1", "ls", "-l"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ps", "--foo"], "unknown flag: --foo"),
        (["ps", "-x"], "unknown shorthand flag: 'x' in -x"),
        (["ps", "-n"], "flag needs an argument: 'n' in -n"),
        (["ps", "--format"], "flag needs an argument: --format"),
        (
            ["ps", "-n", "abc"],
            'invalid argument "abc" for "-n, --last" flag: '
            'strconv.ParseInt: parsing "abc": invalid syntax',
        ),
        (
            ["ps", "--filter", "foo"],
            'invalid argument "foo" for "-f, --filter" flag: '
            "bad format of filter (expected name=value)",
        ),
        (
            ["run", "-m", "lots", "busybox"],
            'invalid argument "lots" for "-m, --memory" flag: invalid size: \'lots\'',
        ),
        (
            ["run", "--health-interval", "5x", "busybox"],
            'invalid argument "5x" for '
            '"--health-interval" flag: time: unknown unit "x" in duration "5x"',
        ),
    ],
)
def test_flag_errors_are_125_with_docker_text(argv: list[str], message: str) -> None:
    status, out, err = run_main(argv)
    name = "docker " + argv[0]
    usage = "[OPTIONS]" if argv[0] == "ps" else "[OPTIONS] IMAGE [COMMAND] [ARG...]"
    assert status == 125 and out == ""
    assert (
        err == f"{message}\n\nUsage:  {name} {usage}\n\nRun '{name} --help' for more information\n"
    )


def test_argument_counts_are_1() -> None:
    status, _, err = run_main(["rm"])
    assert status == 1
    assert err == (
        "docker: 'docker rm' requires at least 1 argument\n\n"
        "Usage:  docker rm [OPTIONS] CONTAINER [CONTAINER...]\n\n"
        "See 'docker rm --help' for more information\n"
    )
    status, _, err = run_main(["container", "rename", "a"])
    assert status == 1 and "'docker container rename' requires 2 arguments" in err
    status, _, err = run_main(["version", "extra"])
    assert status == 1 and "'docker version' accepts no arguments" in err


def test_unknown_command_and_global_flags() -> None:
    status, _, err = run_main(["frobnicate"])
    assert status == 1 and err.startswith("docker: unknown command: docker frobnicate")
    status, _, err = run_main(["--bogus", "ps"])
    assert status == 125 and err.startswith("unknown flag: --bogus")
    status, out, _ = run_main(["-v"])
    assert status == 0 and out.startswith("Docker version ")


def test_help_matches_docker_layout() -> None:
    cmd, invoked, _ = _command.find(["ps"])
    assert cmd is not None
    text = _command.help_text(cmd, invoked)
    assert text.startswith(
        "Usage:  docker ps [OPTIONS]\n\nList containers\n\nAliases:\n"
        "  docker container ls, docker container list, docker container ps, docker ps\n\n"
        "Options:\n"
        "  -a, --all             Show all containers (default shows just running)\n"
        "  -f, --filter filter   Filter output based on conditions provided\n"
        "      --format string   Format output using a custom template:\n"
        "                        'table':            Print output in table format\n"
        "                        with column headers (default)\n"
    )
    assert "  -n, --last int        Show n last created containers (includes all\n" in text
    assert "                        states) (default -1)\n" in text
    cmd, invoked, _ = _command.find(["container", "list"])
    assert cmd is not None and _command.help_text(cmd, invoked).startswith(
        "Usage:  docker container ls [OPTIONS]"
    )


def test_every_command_binds() -> None:
    """Each registered command's signature is readable and its defaults bind."""
    for cmd in _command.registry():
        params = cmd.params()
        assert params or cmd.max_args == 0, cmd.path
        kwargs = _command.bind(cmd, {}, [])
        assert all(
            isinstance(v, list)
            for k, v in kwargs.items()
            if any(p.name == k and p.kind == "list" for p in params)
        )


def test_first_words_name_the_module_that_declares_them() -> None:
    """main._FIRST_WORDS (which module `_load_commands` imports first) agrees with what the
    modules register; a command found in another module (`image build` is the build
    module's) must not be shadowed by anything in the first one."""
    declared: dict[str, set[tuple[str, ...]]] = {}
    for cmd in _command.registry():
        module = cmd.fn.__module__.rsplit(".", 1)[1]
        declared.setdefault(module, set()).update((cmd.path, *cmd.aliases))
    for module, paths in declared.items():
        for path in paths:
            first = main._FIRST_WORDS.get(path[0], "container")
            if first != module:
                assert path[0] in main._FIRST_WORDS, f"{path} is declared in {module}"
                assert (path[0],) not in declared[first] and path not in declared[first]


def test_shell_completion_knows_shared_flags_and_groups() -> None:
    """The Typer app built for completion (`_DOCKERPY_COMPLETE`) has every command, the
    flags of create's and run's shared group among them."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    def complete(words: str, cword: int) -> list[str]:
        env = {
            **os.environ,
            "_DOCKERPY_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(cword),
        }
        code = "import sys; sys.argv[0] = 'dockerpy'; from cli.main import app; app()"
        p = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=env,
            cwd=Path(__file__).resolve().parents[2],
        )
        return p.stdout.split()

    assert complete("dockerpy run --pu", 2) == ["--pull", "--publish", "--publish-all"]
    assert complete("dockerpy volume up", 2) == ["update"]
