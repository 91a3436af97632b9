"""build/shell_lex.py: buildkit's word processing, its error texts, and the name=value forms."""

from __future__ import annotations

import pytest

from dockerpy_engine.build.shell_lex import (
    DockerfileError,
    ShellLex,
    parse_arg,
    parse_name_values,
    parse_words,
    split_name_values,
)
from dockerpy_engine.errdefs import InvalidParameter
from dockerpy_engine.gofmt import go_quote

ENV = {"A": "a", "E": "", "S": "x y  z", "F": "file.tar.gz", "P": "/usr/local/bin:/usr/bin"}


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("$A", "a"),
        ("${A}", "a"),
        ("pre${A}post$A.", "preaposta."),
        ("$UNKNOWN|${UNKNOWN}", "|"),
        ("${U:-dflt} ${E:-dflt} ${E-dflt} ${U-dflt}", "dflt dflt  dflt"),
        ("${A:+alt} ${E:+alt} ${E+alt} ${U+alt}", "alt  alt "),
        ("${E?} ${A:?msg}", " a"),
        ("${U:-$A-nested}", "a-nested"),
        ("'$A \\n'", "$A \\n"),
        ('"$A \\$A \\" \\n"', 'a $A " \\n'),
        ("\\$A a\\ b \\'", "$A a b '"),
        ("$ $1 ${1}", "$  "),
        ("${F%.*} ${F%%.*} ${F#*.} ${F##*.}", "file.tar file tar.gz gz"),
        ("${P/usr/opt} ${P//usr/opt}", "/opt/local/bin:/usr/bin /opt/local/bin:/opt/bin"),
        ("${F/\\*/x} ${F%\\}}", "file.tar.gz file.tar.gz"),
        ("trailing\\", "trailing"),
    ],
)
def test_process_word(text: str, word: str) -> None:
    assert ShellLex().process_word(text, ENV) == word


def test_process_words_splits_on_unquoted_blanks_and_expanded_values() -> None:
    lex = ShellLex()
    assert lex.process_words("a  b\t'c d' \"e $S\" f\\ g", ENV) == [
        "a",
        "b",
        "c d",
        "e x y  z",
        "f g",
    ]
    assert lex.process_words("$S", ENV) == ["x", "y", "z"]
    assert lex.process_words('"" a "" ', ENV) == ["a"]  # empty quotes make no word
    assert lex.process_words("   ", ENV) == []


def test_backtick_escape() -> None:
    lex = ShellLex("`")
    assert lex.process_word('C:\\dir `$A `` "q`""', ENV) == 'C:\\dir $A ` q"'


def test_options_for_heredoc_detection() -> None:
    keep = ShellLex(raw_quotes=True, raw_escapes=True, skip_unset=True)
    assert keep.process_words("<<'EOF' \"x\" \\y $U ${U} ${U:-d} $A", ENV) == [
        "<<'EOF'",
        '"x"',
        "\\y",
        "$U",
        "${U}",
        "${U:-d}",
        "a",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("'abc", "unexpected end of statement while looking for matching single-quote"),
        ('"abc', "unexpected end of statement while looking for matching double-quote"),
        ("${", "syntax error: missing '}'"),
        ("${A:-x", "syntax error: missing '}'"),
        ("${A:-'x}", "syntax error: missing '}'"),
        ("${}", "syntax error: bad substitution"),
        ("${:x}", "syntax error: bad substitution"),
        ("${A:x}", "unsupported modifier (:x) in substitution"),
        ("${A b}", "unsupported modifier ( ) in substitution"),
        ("${A:#x}", "unsupported modifier (:#) in substitution"),
        ("${U:?custom message}", "U: custom message"),
        ("${U?}", "U: is not allowed to be unset"),
        ("${E:?}", "E: is not allowed to be empty"),
        ("${A/x", "syntax error: missing '/' in ${}"),
        ("${F#\\a}", "invalid pattern (\\a) in substitution: invalid escape '\\a'"),
    ],
)
def test_errors_carry_buildkits_text(text: str, message: str) -> None:
    with pytest.raises(DockerfileError) as info:
        ShellLex().process_word(text, ENV)
    assert info.value.message == f"failed to process {go_quote(text)}: {message}"
    assert isinstance(info.value, InvalidParameter)


def test_parse_words_keeps_quotes_and_escapes() -> None:
    assert parse_words('a=b c="d e" f=\'g h\' i\\ j "" k\\') == [
        "a=b",
        'c="d e"',
        "f='g h'",
        "i\\ j",
        '""',
        "k",
    ]
    assert parse_words("a`  b", "`") == ["a` ", "b"]


def test_name_values_both_forms() -> None:
    lex = ShellLex()
    assert parse_name_values('a=b c="d e" PATH=$P:/x', "ENV", lex, ENV) == [
        ("a", "b"),
        ("c", "d e"),
        ("PATH", "/usr/local/bin:/usr/bin:/x"),
    ]
    assert parse_name_values("name the  value $A", "LABEL", lex, ENV) == [("name", "the  value a")]
    assert parse_name_values('"${A}b"="q"', "LABEL", lex, ENV) == [("ab", "q")]
    assert split_name_values("", "ENV") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("", "ENV requires at least one argument"),
        ("onlyname", "ENV must have two arguments"),
        ("a=b c", 'Syntax error - can\'t find = in "c". Must be of the form: name=value'),
        ("a=b =c", "ENV names can not be blank"),
    ],
)
def test_name_value_errors(args: str, message: str) -> None:
    with pytest.raises(DockerfileError) as info:
        parse_name_values(args, "ENV", ShellLex(), {})
    assert info.value.message == message


def test_parse_arg() -> None:
    lex = ShellLex()
    assert parse_arg('A B=1 C="$A x" D=', lex, ENV) == [
        ("A", None),
        ("B", "1"),
        ("C", "a x"),
        ("D", ""),
    ]
    for args, message in (("", "ARG requires at least one argument"), ("=x", "ARG names")):
        with pytest.raises(DockerfileError, match=message):
            parse_arg(args, lex, ENV)


def test_go_quote_and_error_line() -> None:
    assert go_quote('a"b\\c\n\t\x01é\u200b') == '"a\\"b\\\\c\\n\\t\\x01é\\u200b"'
    err = DockerfileError("boom").on_line(7)
    assert (err.message, err.line) == ("dockerfile parse error on line 7: boom", 7)
