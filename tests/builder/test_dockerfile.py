"""build/dockerfile.py: buildkit's Dockerfile syntax and dockerd's parse-time errors."""

from __future__ import annotations

import pytest

from dockerpy_engine.build.dockerfile import (
    DockerfileError,
    Heredoc,
    Instruction,
    heredoc_name,
    json_array,
    parse,
    parse_syntax,
    split_command,
)


def one(text: str) -> Instruction:
    """The instruction after `FROM x` in a Dockerfile."""
    return parse("FROM x\n" + text).instructions[1]


def error(data: bytes | str, **kwargs: str) -> DockerfileError:
    with pytest.raises(DockerfileError) as info:
        parse(data, **kwargs)
    return info.value


def test_instruction_fields() -> None:
    df = parse('from busybox\n\n  run  --network=none  echo   hi  \nCMD ["a", "b"]\n')
    assert [i.keyword for i in df.instructions] == ["FROM", "RUN", "CMD"]
    run = df.instructions[1]
    assert (run.args, run.flags, run.original) == ("echo   hi", ("--network=none",), run.original)
    assert run.original == "run  --network=none  echo   hi"
    assert (run.line, run.end_line) == (3, 3)
    assert df.instructions[2].json_args() == ["a", "b"]
    assert run.json_args() is None
    assert (df.escape, df.syntax, df.warnings) == ("\\", None, [])


def test_continuations_keep_inner_whitespace_and_skip_comments() -> None:
    df = parse("FROM x\nRUN echo a \\  \n  # a comment\n    b\\\n c\nUSER u\n")
    run = df.instructions[1]
    assert run.original == "RUN echo a     b c"  # what dockerd prints after "Step 2/3 : "
    assert (run.line, run.end_line) == (2, 5)
    assert df.instructions[2].line == 6
    assert df.warnings == []


def test_escaped_escape_does_not_continue() -> None:
    df = parse("FROM x\nRUN a\\\\\nRUN b\n")
    assert [i.args for i in df.instructions[1:]] == ["a\\\\", "b"]


def test_empty_continuation_lines_warn() -> None:
    df = parse("FROM x\nRUN a \\\n\n   \n b\n")
    assert df.instructions[1].args == "a  b"
    assert df.warnings == [
        "[WARNING]: Empty continuation line found in: RUN a  b",
        "[WARNING]: Empty continuation lines will become errors in a future release.",
    ]


def test_crlf_and_bom() -> None:
    df = parse(b"\xef\xbb\xbf# escape=`\r\nFROM x\r\nRUN a `\r\n b\r\n")
    assert df.escape == "`"
    assert [i.original for i in df.instructions] == ["FROM x", "RUN a  b"]


def test_directives() -> None:
    df = parse("#syntax = docker/dockerfile:1.4 \n# ESCAPE=`\n# check=skip=all\nFROM x\n")
    assert (df.syntax, df.escape) == ("docker/dockerfile:1.4", "`")
    # After a comment, a blank line or an instruction, a directive is a plain comment.
    for text in ("# hi\n# escape=`\n", "\n# escape=`\n", "FROM x\n# escape=`\n"):
        assert parse(text + "FROM x\nRUN a `\n").escape == "\\"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# escape=x\nFROM a\n", "invalid escape token 'x' does not match ` or \\"),
        ("# escape=`\n# escape=\\\nFROM a\n", "only one escape parser directive can be used"),
        ("# just a comment\n\n", "file with no instructions"),
        ("FROM a\nENV name\n", "ENV must have two arguments"),
        (
            "FROM a\nLABEL a=b c\n",
            'Syntax error - can\'t find = in "c". Must be of the form: name=value',
        ),
        (
            "FROM a\nCMD [1]\n",
            "when using JSON array syntax, arrays must be comprised of strings only",
        ),
        ("FROM a\nHEALTHCHECK CMD [null]\n", "when using JSON array syntax, arrays must"),
        ("FROM a\nONBUILD ENV x\n", "ENV must have two arguments"),
        ("FROM a\nRUN <<EOF\necho\n", "unterminated heredoc"),
        ("FROM a\n" + "x" * 65536 + "\n", "dockerfile line greater than max allowed size of 65535"),
    ],
)
def test_parser_errors_are_prefixed_without_a_line(text: str, message: str) -> None:
    err = error(text, name="sub/Dockerfile.dev")
    assert err.message.startswith(f"failed to parse sub/Dockerfile.dev: {message}")
    with pytest.raises(DockerfileError) as info:
        parse_syntax(text)  # what `docker commit --change` reports: the bare message
    assert info.value.message.startswith(message)


def test_empty_file_and_unknown_instruction() -> None:
    assert error(b"").message == "the Dockerfile (Dockerfile) cannot be empty"
    unknown = error("FROM a\n\nfoo bar\n")
    assert unknown.message == (
        "dockerfile parse error on line 3: unknown instruction: foo (did you mean from?)"
    )
    assert unknown.line == 3
    assert error("FROM a\nRUNN x").message.endswith("unknown instruction: RUNN (did you mean RUN?)")
    assert error("FROM a\nXYZZY x").message.endswith("unknown instruction: XYZZY")
    assert parse_syntax("XYZZY x").instructions[0].keyword == "XYZZY"  # known only to `parse`


def test_json_forms() -> None:
    assert json_array(' ["a", "b c"] trailing') == ["a", "b c"]  # Go decodes the first value
    assert json_array("[]") == []
    for text in ("[not json", "echo [1]", '["a"', "[NaN]", ""):
        assert json_array(text) is None
    with pytest.raises(DockerfileError, match="strings only"):
        json_array('["a", 1]')
    assert one('RUN [ "sh", "-c", "x" ]').json_args() == ["sh", "-c", "x"]


def test_flags_are_split_off_with_quotes_removed() -> None:
    assert split_command('  COPY --from=b --chown="1 2" -- --x y ') == (
        "COPY",
        ("--from=b", "--chown=1 2"),
        "--x y",
    )
    assert split_command("RUN --a --b=c\\ d echo -- --x") == (
        "RUN",
        ("--a", "--b=c d"),
        "echo -- --x",
    )
    assert split_command("CMD") == ("CMD", (), "")


def test_flag_values() -> None:
    instr = one("COPY --link --from=a --exclude=x --exclude=y --chmod=0644 src dst")
    allowed = {"from": "", "chmod": None, "chown": None, "link": False, "exclude": []}
    assert instr.flag_values(allowed) == {
        "from": "a",
        "chmod": "0644",
        "chown": None,
        "link": True,
        "exclude": ["x", "y"],
    }
    assert one("COPY --link=FALSE a b").flag_values({"link": True}) == {"link": False}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ("--frm=a", "unknown flag: --frm (did you mean from?)"),
        ("--nothing-like-it", "unknown flag: --nothing-like-it"),
        ("--from=a --from=b", "duplicate flag specified: --from"),
        ("--from", "missing a value on flag: --from"),
        ("--link=", "missing a value on flag: --link"),
        ("--link=maybe", "expecting boolean value for flag --link, not: maybe"),
    ],
)
def test_flag_errors(flags: str, message: str) -> None:
    with pytest.raises(DockerfileError) as info:
        one(f"COPY {flags} a b").flag_values({"from": "", "link": False})
    assert info.value.message == message


def test_heredocs() -> None:
    df = parse(
        "FROM x\n"
        "RUN <<EOF\necho $HOME\n  indented\nEOF\n"
        "COPY <<A <<-'B' /dest/\naaa\nA\n\tbbb\n\t\tccc\n\tB\n"
        'RUN 3<<"Q" cat\nq\nQ\n'
        'RUN ["<<NOT"]\n'
        "USER u\n"
    )
    run, copy, quoted, exec_form, user = df.instructions[1:]
    assert run.heredocs == (Heredoc("EOF", "echo $HOME\n  indented\n", True, False),)
    assert (run.args, run.original, run.line, run.end_line) == ("<<EOF", "RUN <<EOF", 2, 5)
    assert copy.heredocs == (
        Heredoc("A", "aaa\n", True, False),
        Heredoc("B", "bbb\nccc\n", False, True),
    )
    assert copy.args == "<<A <<-'B' /dest/"
    assert quoted.heredocs == (Heredoc("Q", "q\n", False, False),)
    assert exec_form.heredocs == ()
    assert (user.line, user.args) == (16, "u")


def test_heredoc_body_is_not_parsed_and_onbuild_takes_heredocs() -> None:
    df = parse("FROM x\nONBUILD RUN <<EOF\n# not a comment\nFROM y\nEOF\nUSER <<EOF\n")
    onbuild, user = df.instructions[1:]
    assert onbuild.heredocs == (Heredoc("EOF", "# not a comment\nFROM y\n", True, False),)
    assert user.heredocs == ()  # only RUN, COPY and ADD take heredocs


def test_heredoc_name() -> None:
    assert [heredoc_name(w) for w in ("<<EOF", "<<-'X'", '2<<"Y"', "file", "<<", "a<<b")] == [
        "EOF",
        "X",
        "Y",
        None,
        None,
        None,
    ]
