"""Go text/template, the subset the docker CLI's `--format` uses, with docker's functions.

`parse(text)` returns a `Template`; `Template.execute(data)` returns the rendered string. Data is
plain Python (dicts are Go maps, lists are slices, None is nil) or objects deriving from
`GoStruct`, which stand for the docker CLI's typed formatter contexts (fields and methods by Go
name; an unknown field is an execution error, as it is on a Go struct).

Supported: text and actions with `{{-`/`-}}` trimming, comments, field chains (`.A.B`, `$x.A`,
`(pipeline).A`), variables (`$x := `, `$x = `, `range $i, $e :=`), pipelines (`a | f b`),
`if`/`else if`/`else`/`end`, `range`/`else`/`end` (lists, maps in key order, ints), `with`/
`else`/`end`, `break`/`continue`, literals (strings, raw strings, chars, numbers, true, false,
nil), Go's builtins (and or not len index slice print printf println eq ne lt le gt ge html js
urlquery call) and docker's (json split join title lower upper pad truncate). Errors read like
Go's (`template: :1:2: executing "" at <.Foo>: ...`) because users see them verbatim.
"""

from __future__ import annotations

from cli import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = [
    "NO_VALUE",
    "ExecError",
    "GoRecord",
    "GoStruct",
    "HeaderMap",
    "ParseError",
    "Template",
    "TemplateError",
    "go_json",
    "go_sprint",
    "header_funcs",
    "parse",
]


class TemplateError(Exception):
    """A template failed to parse or to execute; str() is Go's message."""


class ParseError(TemplateError):
    """The template text is malformed (`template: :1: unclosed action`)."""


class ExecError(TemplateError):
    """Executing the template failed (`template: :1:2: executing "" at <.Foo>: ...`)."""


class _NoValue:
    """A missing map key: prints as `<no value>`, is false, and is nil to functions."""

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


NO_VALUE = _NoValue()


class GoJSON:
    """A value that renders itself for `{{json .}}` (a Go MarshalJSON)."""

    def go_json(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


class GoStruct:
    """Base for objects standing in for Go structs: `_go_type` names the type in errors, and
    `_go_fields` lists the exported fields/methods (attribute names equal to the Go names)."""

    _go_type = "struct"
    _go_fields: tuple[str, ...] = ()

    def go_field(self, name: str) -> Any:
        if name not in self._go_fields:
            raise LookupError(name)
        return getattr(self, name)


class GoRecord(GoStruct, GoJSON):
    """A JSON object standing for a Go struct (an event, `docker info`'s data): a field
    the struct lacks is an execution error, unlike a map's missing key, and `{{json .}}`
    writes the fields in the struct's order. `fields` maps Go field names to JSON keys when
    they differ (events.Message's `Status` is `status`); by default the keys are the fields."""

    def __init__(
        self, go_type: str, values: dict[str, Any], fields: dict[str, str] | None = None
    ) -> None:
        self._go_type = go_type
        self._values = values
        self._keys = fields if fields is not None else {k: k for k in values}
        self._go_fields = tuple(self._keys)

    def go_field(self, name: str) -> Any:
        if name not in self._keys:
            raise LookupError(name)
        return self._values.get(self._keys[name])

    def go_json(self) -> str:
        members = [
            f"{_json.dumps(key, ensure_ascii=False)}:{go_json(self._values[key])}"
            for key in self._keys.values()
            if key in self._values
        ]
        return "{" + ",".join(members) + "}"


class HeaderMap(dict):
    """docker's SubHeaderContext: the header row's data, a map of field name to title with a
    `Label` method (`{{.Label "com.x.y"}}` titles the column `y`)."""

    def Label(self, name: str) -> str:
        last = name.split(".")[-1]
        return last.replace("-", " ").replace("_", " ")


# ---------------------------------------------------------------------------------------------
# Printing and JSON like Go's fmt and encoding/json


def _fmt_float(f: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64): shortest repr, exponent when exp < -4 or >= 21."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    if f == int(f) and abs(f) < 1e21:
        return str(int(f))
    r = repr(f)
    if "e" in r:
        mant, exp = r.split("e")
        sign = exp[0] if exp[0] in "+-" else "+"
        digits = exp.lstrip("+-").rjust(2, "0")
        return f"{mant}e{sign}{digits}"
    return r


def _fmt_float_v(f: float) -> str:
    """fmt's %v for a float64: %g with the shortest digits, in exponent form when the decimal
    exponent is below -4 or at least 6 (Go prints 1e+06 for a million)."""
    if f != f or f in (float("inf"), float("-inf")):
        return _fmt_float(f)
    if f == 0:
        return "0"
    from decimal import Decimal

    sign, digits, exponent = Decimal(repr(f)).normalize().as_tuple()
    ds = "".join(map(str, digits))
    e = len(ds) + int(exponent) - 1
    neg = "-" if sign else ""
    if e < -4 or e >= 6:
        m = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{neg}{m}e{'-' if e < 0 else '+'}{abs(e):02d}"
    if e < 0:
        return f"{neg}0.{'0' * (-e - 1)}{ds}"
    if len(ds) <= e + 1:
        return neg + ds + "0" * (e + 1 - len(ds))
    return f"{neg}{ds[: e + 1]}.{ds[e + 1 :]}"


def go_sprint(v: Any) -> str:
    """How text/template prints a value (fmt.Fprint of the evaluated pipeline)."""
    if v is NO_VALUE:
        return "<no value>"
    if v is None:
        return "<nil>"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _fmt_float_v(v)
    if isinstance(v, list | tuple):
        return "[" + " ".join(_sprint_inner(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_sprint_inner(v[k])}" for k in sorted(v)) + "]"
    return str(v)


def _sprint_inner(v: Any) -> str:
    if v is NO_VALUE or v is None:
        return "<nil>"
    return go_sprint(v)


def _is_struct_like(d: dict) -> bool:
    """Heuristic for JSON encoding: dockerd's structs have exported (capitalised) field names
    and keep their order; maps (labels, options) are encoded by Go with sorted keys."""
    return bool(d) and all(isinstance(k, str) and k[:1].isupper() for k in d)


def _go_json_value(v: Any, escape_html: bool) -> Any:
    if isinstance(v, dict):
        items = v.items() if _is_struct_like(v) else sorted(v.items())
        return {k: _go_json_value(x, escape_html) for k, x in items}
    if isinstance(v, list | tuple):
        return [_go_json_value(x, escape_html) for x in v]
    if v is NO_VALUE:
        return None
    return v


def go_json(v: Any, escape_html: bool = False) -> str:
    """encoding/json's output (compact; `<`, `>` and `&` escaped only when escape_html)."""
    if isinstance(v, GoJSON):
        return v.go_json()
    if isinstance(v, float) and v == int(v) and abs(v) < 1e21:
        return str(int(v))
    s = _json.dumps(_go_json_value(v, escape_html), ensure_ascii=False, compact=True)
    s = s.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    if escape_html:
        s = s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return s


def go_truth(v: Any) -> bool:
    if v is NO_VALUE or v is None:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return v != 0
    if isinstance(v, str | list | tuple | dict):
        return len(v) > 0
    return True


# ---------------------------------------------------------------------------------------------
# Functions


def _printf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf for the common verbs: %s %v %d %q %t %x %X %f %e %g %c %%, with flags,
    width and precision."""
    import re

    out: list[str] = []
    i = 0
    argi = 0
    spec = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])")
    while i < len(fmt):
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        m = spec.match(fmt, j)
        if not m:
            out.append("%!(NOVERB)")
            break
        flags, width, prec, verb = m.groups()
        i = m.end()
        if verb == "%":
            out.append("%")
            continue
        if width == "*":
            width = str(args[argi]) if argi < len(args) else ""
            argi += 1
        if prec == "*":
            prec = str(args[argi]) if argi < len(args) else ""
            argi += 1
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        a = args[argi]
        argi += 1
        out.append(_fmt_verb(verb, flags or "", width, prec, a))
    if argi < len(args):
        extra = ", ".join(f"{_go_typename(a)}={go_sprint(a)}" for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _go_typename(a: Any) -> str:
    if isinstance(a, bool):
        return "bool"
    if isinstance(a, int):
        return "int"
    if isinstance(a, float):
        return "float64"
    if isinstance(a, str):
        return "string"
    if isinstance(a, list):
        return "[]interface {}"
    if isinstance(a, dict):
        return "map[string]interface {}"
    return type(a).__name__


def _fmt_verb(verb: str, flags: str, width: str | None, prec: str | None, a: Any) -> str:
    if verb in "sv":
        s = go_sprint(a)
        if prec is not None and verb == "s":
            s = s[: int(prec or 0)]
    elif verb == "d":
        if isinstance(a, bool) or not isinstance(a, int):
            return f"%!d({_go_typename(a)}={go_sprint(a)})"
        s = f"{a:{'+' if '+' in flags else ''}d}"
    elif verb == "q":
        s = go_json(a) if isinstance(a, str) else go_sprint(a)
    elif verb == "t":
        s = go_sprint(a)
    elif verb in "xX":
        s = (a.encode().hex() if isinstance(a, str) else format(a, "x")) if a is not None else ""
        s = s.upper() if verb == "X" else s
    elif verb in "feEgG":
        if not isinstance(a, int | float) or isinstance(a, bool):
            return f"%!{verb}({_go_typename(a)}={go_sprint(a)})"
        p = int(prec) if prec else (6 if verb in "feE" else None)
        s = (
            format(float(a), f"{'+' if '+' in flags else ''}.{p}{verb}")
            if p is not None
            else (_fmt_float(float(a)))
        )
    elif verb == "c":
        s = chr(a) if isinstance(a, int) else f"%!c({_go_typename(a)}={go_sprint(a)})"
    else:
        return f"%!{verb}({_go_typename(a)}={go_sprint(a)})"
    if width:
        w = int(width)
        if "-" in flags:
            s = s.ljust(w)
        elif "0" in flags and verb in "dfeEgGxX":
            neg = s.startswith("-")
            s = ("-" if neg else "") + s.lstrip("-").rjust(w - neg, "0")
        else:
            s = s.rjust(w)
    return s


def _sprint(*args: Any) -> str:
    """fmt.Sprint: spaces between operands when neither side is a string."""
    out = ""
    for i, a in enumerate(args):
        if i > 0 and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out += " "
        out += go_sprint(a)
    return out


def _sprintln(*args: Any) -> str:
    return " ".join(go_sprint(a) for a in args) + "\n"


def _len(v: Any) -> int:
    if isinstance(v, str):
        return len(v.encode())
    if isinstance(v, list | tuple | dict):
        return len(v)
    raise _FuncError(f"len of type {_go_typename(v)}" if v is not None else "len of nil pointer")


def _index(v: Any, *keys: Any) -> Any:
    for k in keys:
        if isinstance(v, dict):
            if k in v:
                v = v[k]
            else:  # the zero value: "" for a map of strings (labels), nil otherwise
                v = "" if v and all(isinstance(x, str) for x in v.values()) else NO_VALUE
        elif isinstance(v, list | tuple | str):
            if not isinstance(k, int) or isinstance(k, bool):
                raise _FuncError(f"cannot index slice/array with type {_go_typename(k)}")
            if not 0 <= k < len(v):
                raise _FuncError(f"error calling index: index out of range: {k}")
            v = v[k] if not isinstance(v, str) else v.encode()[k]
        elif v is None or v is NO_VALUE:
            raise _FuncError("error calling index: index of untyped nil")
        else:
            raise _FuncError(f"can't index item of type {_go_typename(v)}")
    return v


def _slice(v: Any, *idx: int) -> Any:
    if len(idx) == 0:
        return v
    if len(idx) == 1:
        return v[idx[0] :]
    return v[idx[0] : idx[1]]


def _cmp_args(name: str, a: Any, b: Any) -> None:
    num = (int, float)
    ok = (
        (isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool))
        or (isinstance(a, str) and isinstance(b, str))
        or (isinstance(a, bool) and isinstance(b, bool))
    )
    if not ok:
        raise _FuncError(f"error calling {name}: incompatible types for comparison")


def _eq(a: Any, *bs: Any) -> bool:
    if not bs:
        raise _FuncError("wrong number of args for eq: want at least 1 got 0")
    for b in bs:
        if a is None or b is None or a is NO_VALUE or b is NO_VALUE:
            if (a is None or a is NO_VALUE) and (b is None or b is NO_VALUE):
                return True
            continue
        _cmp_args("eq", a, b)
        if a == b:
            return True
    return False


def _ord(name: str, op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def f(a: Any, b: Any) -> bool:
        _cmp_args(name, a, b)
        if isinstance(a, bool):
            raise _FuncError(f"error calling {name}: invalid type for comparison")
        return op(a, b)

    return f


def _title(s: str) -> str:
    out = []
    prev = " "
    for ch in s:
        out.append(ch.upper() if not (prev.isalnum() or prev in "_'") else ch)
        prev = ch
    return "".join(out)


def _pad(s: str, prefix: int, suffix: int) -> str:
    if s == "":
        return s
    return " " * prefix + s + " " * suffix


def _truncate(s: str, length: int) -> str:
    b = s.encode()
    if len(b) < length:
        return s
    return b[:length].decode(errors="ignore")


def _join(elems: Any, sep: str) -> str:
    if not isinstance(elems, list | tuple):
        raise _FuncError(f"wrong type for value; expected []string; got {_go_typename(elems)}")
    return sep.join(go_sprint(e) for e in elems)


def _split(s: str, sep: str) -> list[str]:
    if sep == "":
        return list(s)
    return s.split(sep)


def _html(*args: Any) -> str:
    s = _sprint(*args)
    return (
        s.replace("&", "&amp;")
        .replace("'", "&#39;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("\0", "\ufffd")
    )


def _js(*args: Any) -> str:
    s = _sprint(*args)
    rep = {
        "\\": "\\\\",
        "'": "\\'",
        '"': '\\"',
        "<": "\\u003C",
        ">": "\\u003E",
        "&": "\\u0026",
        "=": "\\u003D",
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
    }
    return "".join(rep.get(c, c) for c in s)


def _urlquery(*args: Any) -> str:
    from urllib.parse import quote_plus

    return quote_plus(_sprint(*args))


def _call(fn: Any, *args: Any) -> Any:
    if not callable(fn):
        raise _FuncError(f"error calling call: non-function of type {_go_typename(fn)}")
    return fn(*args)


class _FuncError(Exception):
    pass


# Functions whose arguments are evaluated lazily (and/or short-circuit as in Go 1.18+).
_LAZY = {"and", "or"}

BUILTINS: dict[str, Callable[..., Any]] = {
    "not": lambda a: not go_truth(a),
    "len": _len,
    "index": _index,
    "slice": _slice,
    "print": _sprint,
    "printf": _printf,
    "println": _sprintln,
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "lt": _ord("lt", lambda a, b: a < b),
    "le": _ord("le", lambda a, b: a <= b),
    "gt": _ord("gt", lambda a, b: a > b),
    "ge": _ord("ge", lambda a, b: a >= b),
    "html": _html,
    "js": _js,
    "urlquery": _urlquery,
    "call": _call,
    # docker's templates.basicFunctions
    "json": lambda v: go_json(v),
    "split": _split,
    "join": _join,
    "title": _title,
    "lower": lambda s: s.lower(),
    "upper": lambda s: s.upper(),
    "pad": _pad,
    "truncate": _truncate,
}


def header_funcs() -> dict[str, Callable[..., Any]]:
    """docker's templates.HeaderFunctions: when rendering a table's header row, the
    formatting functions pass the header text through unchanged."""
    return {
        "json": lambda v: v,
        "split": lambda v, _sep: v,
        "join": lambda v, _sep: v,
        "title": lambda v: v,
        "lower": lambda v: v,
        "upper": lambda v: v,
        "pad": lambda v, _a, _b: v,
        "truncate": lambda v, _n: v,
    }


# ---------------------------------------------------------------------------------------------
# Lexer


class _Tok:
    """A lexer item; kind is text, field, var, ident, string, number, bool, nil, dot, pipe,
    lparen, rparen, declare, assign, comma, space, begin, end_action or eof."""

    __slots__ = ("kind", "pos", "val")

    def __init__(self, kind: str, val: Any, pos: int) -> None:
        self.kind = kind
        self.val = val
        self.pos = pos


_IDENT_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_IDENT_CHARS = _IDENT_START | frozenset("0123456789")
_DIGITS = frozenset("0123456789")
_PUNCT = {":=": "declare", "=": "assign", "|": "pipe", "(": "lparen", ")": "rparen", ",": "comma"}
_RADIX = {"x": "0123456789abcdefABCDEF_", "b": "01_", "o": "01234567_"}


def _span(text: str, i: int, chars: frozenset[str] | str) -> int:
    """The end of the run of `chars` starting at i."""
    n = len(text)
    while i < n and text[i] in chars:
        i += 1
    return i


def _quoted_end(text: str, i: int, quote: str, min_chars: int = 0) -> int:
    """The end of a `"..."` or `'...'` literal at i (escapes allowed, no newline), or -1."""
    j = i + 1
    n = len(text)
    count = 0
    while j < n:
        c = text[j]
        if c == quote:
            return j + 1 if count >= min_chars else -1
        if c == "\n":
            return -1
        if c == "\\":
            if j + 1 >= n or text[j + 1] == "\n":
                return -1
            j += 1
        j += 1
        count += 1
    return -1


def _number_end(text: str, i: int) -> int:
    """The end of a Go number literal at i (sign, 0x/0b/0o, decimals, exponent), or -1."""
    j = i + 1 if text[i] in "+-" else i
    if text.startswith("0", j) and text[j + 1 : j + 2].lower() in _RADIX:
        k = _span(text, j + 2, _RADIX[text[j + 1].lower()])
        if k > j + 2:
            return k
    if j < len(text) and text[j] in _DIGITS:
        k = _span(text, j, _DIGITS | {"_"})
        if text.startswith(".", k):
            k = _span(text, k + 1, _DIGITS)
    elif text.startswith(".", j) and text[j + 1 : j + 2] in _DIGITS:
        k = _span(text, j + 1, _DIGITS)
    else:
        return -1
    if text[k : k + 1] in ("e", "E"):
        e = k + 1 + (text[k + 1 : k + 2] in ("+", "-"))
        digits = _span(text, e, _DIGITS)
        if digits > e:
            k = digits
    return k


def _action_token(text: str, i: int) -> tuple[str, int] | None:
    """(kind, end) of the token at i inside an action, or None when nothing starts there.
    Written out rather than as one regular expression: compiling it (and importing `re`)
    would cost more than lexing every template a command ever prints."""
    c = text[i]
    if c.isspace():
        j = i + 1
        while j < len(text) and text[j].isspace():
            j += 1
        return "space", j
    if c == "`":
        j = text.find("`", i + 1)
        return ("raw", j + 1) if j >= 0 else None
    if c == '"':
        j = _quoted_end(text, i, '"')
        return ("string", j) if j >= 0 else None
    if c == "'":
        j = _quoted_end(text, i, "'", 1)
        return ("char", j) if j >= 0 else None
    if text.startswith(":=", i):
        return "declare", i + 2
    if c in _PUNCT:
        return _PUNCT[c], i + 1
    if c == "$":
        return "var", _span(text, i + 1, _IDENT_CHARS)
    if c == "." and text[i + 1 : i + 2] in _IDENT_START:
        j = i
        while text.startswith(".", j) and text[j + 1 : j + 2] in _IDENT_START:
            j = _span(text, j + 1, _IDENT_CHARS)
        return "field", j
    if c in "+-.0123456789":
        j = _number_end(text, i)
        if j >= 0:
            return "number", j
    if c == ".":
        return "dot", i + 1
    if c in _IDENT_START:
        return "ident", _span(text, i, _IDENT_CHARS)
    return None


def _unquote(s: str) -> str:
    if s[0] == "`":
        return s[1:-1]
    return _json.loads(s) if "\\" not in s or _json_ok(s) else _go_unescape(s[1:-1])


def _json_ok(s: str) -> bool:
    try:
        _json.loads(s)
    except ValueError:
        return False
    return True


def _go_unescape(s: str) -> str:
    return s.encode("latin-1", "backslashreplace").decode("unicode_escape")


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text

    def items(self) -> list[_Tok]:
        text = self.text
        toks: list[_Tok] = []
        i = 0
        while i < len(text):
            j = text.find("{{", i)
            if j < 0:
                toks.append(_Tok("text", text[i:], i))
                break
            trim_left = (
                text.startswith("{{- ", j)
                or text.startswith("{{-\t", j)
                or (text.startswith("{{-\n", j))
            )
            chunk = text[i:j]
            if trim_left:
                chunk = chunk.rstrip(" \t\r\n")
            if chunk:
                toks.append(_Tok("text", chunk, i))
            k = j + (4 if trim_left else 2)
            if text.startswith("/*", k) or text.startswith("/*", k):
                end = text.find("*/", k)
                if end < 0:
                    raise ParseError(f"template: :{self.line(j)}: unclosed comment")
                close = end + 2
                trim_right = False
                if text.startswith(" -}}", close):
                    trim_right = True
                    close += 4
                elif text.startswith("}}", close):
                    close += 2
                else:
                    raise ParseError(
                        f"template: :{self.line(j)}: comment ends before closing delimiter"
                    )
                i = close
                if trim_right:
                    i = len(text) - len(text[i:].lstrip(" \t\r\n"))
                continue
            toks.append(_Tok("begin", None, j))
            i = self._action(k, toks, j)
        toks.append(_Tok("eof", None, len(text)))
        return toks

    def line(self, pos: int) -> int:
        return 1 + self.text.count("\n", 0, pos)

    def _action(self, i: int, toks: list[_Tok], start: int) -> int:
        text = self.text
        while True:
            if i >= len(text):
                raise ParseError(f"template: :{self.line(start)}: unclosed action")
            if text.startswith("}}", i):
                toks.append(_Tok("end_action", None, i))
                return i + 2
            for ws in (" -}}", "\t-}}", "\n-}}", "\r-}}"):
                if text.startswith(ws, i):
                    toks.append(_Tok("end_action", None, i))
                    rest = i + 4
                    return len(text) - len(text[rest:].lstrip(" \t\r\n"))
            m = _action_token(text, i)
            if m is None:
                ch = text[i]
                if ch == "\n":
                    raise ParseError(f"template: :{self.line(start)}: unclosed action")
                raise ParseError(
                    f"template: :{self.line(i)}: unexpected {_go_quote_char(ch)} in command"
                )
            kind, end = m
            val = text[i:end]
            if kind == "space":
                if "\n" in val and "}}" not in text[i : i + len(val) + 2]:
                    pass
                toks.append(_Tok("space", val, i))
            elif kind in ("raw", "string"):
                toks.append(_Tok("string", _unquote(val), i))
            elif kind == "char":
                toks.append(_Tok("number", ord(_go_unescape(val[1:-1])), i))
            elif kind == "number":
                toks.append(_Tok("number", _parse_number(val), i))
            elif kind == "ident" and val in ("true", "false"):
                toks.append(_Tok("bool", val == "true", i))
            elif kind == "ident" and val == "nil":
                toks.append(_Tok("nil", None, i))
            else:
                toks.append(_Tok(kind, val, i))
            i = end


def _go_quote_char(ch: str) -> str:
    return "'" + ch + "'" if ch != "'" else "'\\''"


def _parse_number(s: str) -> int | float:
    t = s.replace("_", "")
    try:
        return int(t, 0)
    except ValueError:
        return float(t)


# ---------------------------------------------------------------------------------------------
# Parse tree


class _Node:
    __slots__ = ("pos",)


class _Text(_Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        self.pos = pos
        self.text = text


class _Field(_Node):
    __slots__ = ("names",)

    def __init__(self, pos: int, names: list[str]) -> None:
        self.pos = pos
        self.names = names

    def __str__(self) -> str:
        return "." + ".".join(self.names)


class _Dot(_Node):
    __slots__ = ()

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def __str__(self) -> str:
        return "."


class _Var(_Node):
    __slots__ = ("name", "names")

    def __init__(self, pos: int, name: str, names: list[str] | None = None) -> None:
        self.pos = pos
        self.name = name
        self.names = names if names is not None else []

    def __str__(self) -> str:
        return self.name + "".join("." + n for n in self.names)


class _Ident(_Node):
    __slots__ = ("name",)

    def __init__(self, pos: int, name: str) -> None:
        self.pos = pos
        self.name = name

    def __str__(self) -> str:
        return self.name


class _Lit(_Node):
    __slots__ = ("src", "value")

    def __init__(self, pos: int, value: Any, src: str | None = None) -> None:
        self.pos = pos
        self.value = value
        self.src = src

    def __str__(self) -> str:
        return self.src


class _Chain(_Node):
    __slots__ = ("names", "node")

    def __init__(self, pos: int, node: Any, names: list[str]) -> None:
        self.pos = pos
        self.node = node
        self.names = names

    def __str__(self) -> str:
        return f"({self.node})" + "".join("." + n for n in self.names)


class _Cmd(_Node):
    __slots__ = ("args",)

    def __init__(self, pos: int, args: list[Any]) -> None:
        self.pos = pos
        self.args = args

    def __str__(self) -> str:
        return " ".join(str(a) for a in self.args)


class _Pipe(_Node):
    __slots__ = ("cmds", "decl", "is_assign")

    def __init__(self, pos: int, decl: list[str], cmds: list[_Cmd], is_assign: bool = False):
        self.pos = pos
        self.decl = decl
        self.cmds = cmds
        self.is_assign = is_assign

    def __str__(self) -> str:
        s = " | ".join(str(c) for c in self.cmds)
        if self.decl:
            s = ", ".join(self.decl) + (" = " if self.is_assign else " := ") + s
        return s


class _Action(_Node):
    __slots__ = ("pipe",)

    def __init__(self, pos: int, pipe: _Pipe) -> None:
        self.pos = pos
        self.pipe = pipe


class _Branch(_Node):
    __slots__ = ("body", "else_body", "kind", "pipe")

    def __init__(
        self, pos: int, kind: str, pipe: _Pipe, body: list[Any], else_body: list[Any] | None
    ) -> None:
        self.pos = pos
        self.kind = kind
        self.pipe = pipe
        self.body = body
        self.else_body = else_body


class _Loop(_Node):
    __slots__ = ("kind",)

    def __init__(self, pos: int, kind: str) -> None:
        self.pos = pos
        self.kind = kind


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _Lexer(text).items()
        self.i = 0
        self.vars: list[list[str]] = [["$"]]
        self.range_depth = 0

    def line(self, pos: int) -> int:
        return 1 + self.text.count("\n", 0, pos)

    def err(self, pos: int, msg: str) -> ParseError:
        return ParseError(f"template: :{self.line(pos)}: {msg}")

    def peek(self, skip_space: bool = True) -> _Tok:
        j = self.i
        while skip_space and self.toks[j].kind == "space":
            j += 1
        return self.toks[j]

    def next(self, skip_space: bool = True) -> _Tok:
        while skip_space and self.toks[self.i].kind == "space":
            self.i += 1
        t = self.toks[self.i]
        self.i += 1
        return t

    def parse(self) -> list[Any]:
        nodes, end = self.list_until(())
        if end is not None:
            raise self.err(end.pos, f"unexpected {{{{{end.val}}}}}")
        return nodes

    def list_until(self, stops: tuple[str, ...]) -> tuple[list[Any], _Tok | None]:
        """Parse nodes until one of the keyword actions in stops ({{end}}, {{else}})."""
        nodes: list[Any] = []
        while True:
            t = self.next(skip_space=False)
            if t.kind == "eof":
                if stops:
                    raise self.err(t.pos, "unexpected EOF")
                return nodes, None
            if t.kind == "text":
                nodes.append(_Text(t.pos, t.val))
                continue
            # begin of an action
            k = self.peek()
            if k.kind == "ident" and k.val in ("end", "else"):
                self.next()
                if k.val not in stops:
                    raise self.err(k.pos, f"unexpected {{{{{k.val}}}}}")
                if k.val == "end":
                    self.expect_end()
                return nodes, _Tok("kw", k.val, k.pos)
            if k.kind == "ident" and k.val in ("if", "range", "with"):
                self.next()
                nodes.append(self.branch(k.val, k.pos))
                continue
            if k.kind == "ident" and k.val in ("break", "continue"):
                self.next()
                if not self.range_depth:
                    raise self.err(k.pos, f"{{{{{k.val}}}}} outside {{{{range}}}}")
                self.expect_end()
                nodes.append(_Loop(k.pos, k.val))
                continue
            if k.kind == "ident" and k.val in ("define", "template", "block"):
                raise self.err(k.pos, f"{{{{{k.val}}}}} is not supported")
            pipe = self.pipeline("command", allow_decl=True)
            nodes.append(_Action(pipe.pos, pipe))

    def expect_end(self) -> None:
        t = self.next()
        if t.kind != "end_action":
            raise self.err(t.pos, f"unexpected {self.desc(t)} in end")

    def desc(self, t: _Tok) -> str:
        if t.kind == "end_action":
            return "}}"
        if t.kind == "eof":
            return "EOF"
        if t.kind == "string":
            return go_json(t.val)
        return f'"{t.val}"' if t.val is not None else t.kind

    def branch(self, kind: str, pos: int) -> _Branch:
        self.vars.append([])
        pipe = self.pipeline(kind, allow_decl=True, range_decl=kind == "range")
        if kind == "range":
            self.range_depth += 1
        body, end = self.list_until(("end", "else"))
        if kind == "range":
            self.range_depth -= 1
        else_body = None
        if end is not None and end.val == "else":
            nxt = self.peek()
            if nxt.kind == "ident" and nxt.val in ("if", "with") and nxt.val == kind:
                # {{else if ...}} is {{else}}{{if ...}}...{{end}} sharing our {{end}}
                self.next()
                else_body = [self.branch(kind, nxt.pos)]
            else:
                self.expect_end()
                else_body, _ = self.list_until(("end",))
        self.vars.pop()
        return _Branch(pos, kind, pipe, body, else_body)

    def pipeline(self, context: str, allow_decl: bool = False, range_decl: bool = False) -> _Pipe:
        start = self.peek()
        decl: list[str] = []
        is_assign = False
        if allow_decl and start.kind == "var":
            save = self.i
            self.next()
            nt = self.peek()
            if nt.kind in ("declare", "assign"):
                self.next()
                decl = [start.val]
                is_assign = nt.kind == "assign"
            elif nt.kind == "comma" and range_decl:
                self.next()
                v2 = self.next()
                if v2.kind != "var":
                    raise self.err(v2.pos, "range can only initialize variables")
                op = self.next()
                if op.kind not in ("declare", "assign"):
                    raise self.err(op.pos, f"unexpected {self.desc(op)} in range")
                decl = [start.val, v2.val]
                is_assign = op.kind == "assign"
            else:
                self.i = save
        for d in decl:
            if is_assign:
                if not self.known_var(d):
                    raise self.err(start.pos, f'undefined variable "{d}"')
            else:
                self.vars[-1].append(d)
        cmds: list[_Cmd] = []
        while True:
            t = self.peek()
            if t.kind == "end_action":
                self.next()
                break
            if t.kind == "rparen" and context == "paren":
                self.next()
                break
            if t.kind == "eof":
                raise self.err(t.pos, "unclosed action")
            cmd = self.command(context)
            cmds.append(cmd)
            t = self.peek()
            if t.kind == "pipe":
                self.next()
                continue
        if not cmds:
            raise self.err(start.pos, f"missing value for {context}")
        return _Pipe(start.pos, decl, cmds, is_assign)

    def known_var(self, name: str) -> bool:
        return any(name in scope for scope in self.vars)

    def command(self, context: str) -> _Cmd:
        args: list[Any] = []
        pos = self.peek().pos
        while True:
            t = self.peek(skip_space=False)
            if t.kind == "space":
                self.next(skip_space=False)
                continue
            if t.kind in ("end_action", "pipe") or (t.kind == "rparen" and context == "paren"):
                break
            if t.kind == "rparen":
                raise self.err(t.pos, "unexpected right paren")
            if t.kind == "eof":
                raise self.err(t.pos, "unclosed action")
            args.append(self.operand())
            nt = self.peek(skip_space=False)
            if nt.kind not in ("space", "end_action", "pipe", "rparen"):
                raise self.err(nt.pos, f"unexpected {self.desc(nt)} in operand")
        if not args:
            raise self.err(pos, "empty command")
        return _Cmd(pos, args)

    def operand(self) -> Any:
        t = self.next(skip_space=False)
        if t.kind == "field":
            names = t.val[1:].split(".")
            # Go's parser places a chain of fields (`.State.Nope`) at its second field
            pos = t.pos + 1 + len(names[0]) if len(names) > 1 else t.pos
            return _Field(pos, names)
        if t.kind == "dot":
            return _Dot(t.pos)
        if t.kind == "var":
            nt = self.peek(skip_space=False)
            names: list[str] = []
            if nt.kind == "field":
                self.next(skip_space=False)
                names = nt.val[1:].split(".")
            if not self.known_var(t.val):
                raise self.err(t.pos, f'undefined variable "{t.val}"')
            return _Var(t.pos, t.val, names)
        if t.kind == "ident":
            if t.val not in BUILTINS and t.val not in _LAZY:
                raise self.err(t.pos, f'function "{t.val}" not defined')
            return _Ident(t.pos, t.val)
        if t.kind in ("string", "number", "bool", "nil"):
            src = self.text[t.pos : self.toks[self.i].pos] if self.i < len(self.toks) else ""
            return _Lit(t.pos, t.val, src.rstrip())
        if t.kind == "lparen":
            pipe = self.pipeline("paren")
            nt = self.peek(skip_space=False)
            if nt.kind == "field":
                self.next(skip_space=False)
                return _Chain(t.pos, pipe, nt.val[1:].split("."))
            return _Chain(t.pos, pipe, [])
        raise self.err(t.pos, f"unexpected {self.desc(t)} in operand")


# ---------------------------------------------------------------------------------------------
# Execution


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _State:
    __slots__ = ("funcs", "missingkey_error", "out", "text", "vars")

    def __init__(self, text: str, funcs: dict[str, Callable[..., Any]], missingkey_error: bool):
        self.text = text
        self.funcs = funcs
        self.missingkey_error = missingkey_error
        self.vars: list[tuple[str, Any]] = []
        self.out: list[str] = []

    def err(self, node: Any, msg: str) -> ExecError:
        pos = node.pos
        before = self.text[:pos]
        nl = before.rfind("\n")
        col = pos if nl < 0 else pos - nl - 1
        line = 1 + before.count("\n")
        return ExecError(f'template: :{line}:{col}: executing "" at <{node}>: {msg}')

    def lookup_var(self, name: str) -> Any:
        for n, v in reversed(self.vars):
            if n == name:
                return v
        raise KeyError(name)

    def set_var(self, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return

    def walk(self, dot: Any, nodes: list[Any]) -> None:
        for n in nodes:
            if isinstance(n, _Text):
                self.out.append(n.text)
            elif isinstance(n, _Action):
                v = self.pipe(dot, n.pipe)
                if not n.pipe.decl:
                    self.out.append(self.printable(n, v))
            elif isinstance(n, _Branch):
                self.branch(dot, n)
            elif isinstance(n, _Loop):
                raise _Break() if n.kind == "break" else _Continue()

    def printable(self, node: Any, v: Any) -> str:
        return go_sprint(v)

    def branch(self, dot: Any, n: _Branch) -> None:
        mark = len(self.vars)
        try:
            if n.kind == "range":
                self.range(dot, n)
                return
            v = self.pipe(dot, n.pipe)
            if go_truth(v):
                self.walk(v if n.kind == "with" else dot, n.body)
            elif n.else_body is not None:
                self.walk(dot, n.else_body)
        finally:
            del self.vars[mark:]

    def range(self, dot: Any, n: _Branch) -> None:
        pipe = n.pipe
        v = self.pipe(dot, _Pipe(pipe.pos, [], pipe.cmds))
        if isinstance(v, dict):
            items = [(k, v[k]) for k in sorted(v)]
        elif isinstance(v, list | tuple):
            items = list(enumerate(v))
        elif isinstance(v, int) and not isinstance(v, bool):
            items = [(i, i) for i in range(v)]
        elif v is None or v is NO_VALUE:
            items = []
        else:
            raise self.err(pipe, f"range can't iterate over {go_sprint(v)}")
        if not items:
            if n.else_body is not None:
                self.walk(dot, n.else_body)
            return
        mark = len(self.vars)
        for k, elem in items:
            if len(pipe.decl) == 1:
                self._decl(pipe, pipe.decl[0], elem, mark)
            elif len(pipe.decl) == 2:
                self._decl(pipe, pipe.decl[0], k, mark)
                self._decl(pipe, pipe.decl[1], elem, mark)
            try:
                self.walk(elem, n.body)
            except _Break:
                break
            except _Continue:
                continue
            finally:
                del self.vars[mark + (0 if pipe.is_assign else len(pipe.decl)) :]

    def _decl(self, pipe: _Pipe, name: str, value: Any, mark: int) -> None:
        if pipe.is_assign:
            self.set_var(name, value)
        else:
            self.vars.append((name, value))

    def pipe(self, dot: Any, p: _Pipe) -> Any:
        value: Any = _MISSING
        for cmd in p.cmds:
            value = self.command(dot, cmd, value)
        for name in p.decl:
            if p.is_assign:
                self.set_var(name, value)
            else:
                self.vars.append((name, value))
        return value

    def command(self, dot: Any, cmd: _Cmd, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, _Field):
            return self.field_chain(dot, dot, first, first.names, cmd.args[1:], final)
        if isinstance(first, _Chain):
            base = self.pipe(dot, first.node)
            if not first.names:
                if len(cmd.args) > 1 or final is not _MISSING:
                    raise self.err(first, f"can't give argument to non-function {first}")
                return base
            return self.field_chain(dot, base, first, first.names, cmd.args[1:], final)
        if isinstance(first, _Ident):
            return self.call(dot, first, cmd.args[1:], final, cmd)
        if len(cmd.args) > 1 or final is not _MISSING:
            raise self.err(first, f"can't give argument to non-function {first}")
        return self.arg(dot, first)

    def field_chain(
        self, dot: Any, receiver: Any, node: Any, names: list[str], args: list[Any], final: Any
    ) -> Any:
        v = receiver
        for i, name in enumerate(names):
            last = i == len(names) - 1
            v = self.field(dot, node, v, name, args if last else [], final if last else _MISSING)
        return v

    def field(self, dot: Any, node: Any, recv: Any, name: str, args: list[Any], final: Any) -> Any:
        has_args = bool(args) or final is not _MISSING
        if isinstance(recv, GoStruct):
            try:
                v = recv.go_field(name)
            except LookupError:
                raise self.err(
                    node, f"can't evaluate field {name} in type {recv._go_type}"
                ) from None
            if callable(v):
                argv = [self.arg(dot, a) for a in args]
                if final is not _MISSING:
                    argv.append(final)
                try:
                    return v(*argv)
                except TypeError:
                    raise self.err(
                        node, f"wrong number of args for {name}: want 1 got {len(argv)}"
                    ) from None
            if has_args:
                raise self.err(node, f"{name} has arguments but cannot be invoked as function")
            return v
        if isinstance(recv, HeaderMap) and name == "Label":
            argv = [self.arg(dot, a) for a in args]
            if final is not _MISSING:
                argv.append(final)
            return recv.Label(*argv)
        if isinstance(recv, dict):
            if has_args:
                raise self.err(node, f"{name} is not a method but has arguments")
            if name in recv:
                return recv[name]
            if self.missingkey_error:
                raise self.err(node, f'map has no entry for key "{name}"')
            return NO_VALUE
        if recv is None or recv is NO_VALUE:
            raise self.err(node, f"nil pointer evaluating interface {{}}.{name}")
        raise self.err(node, f"can't evaluate field {name} in type {_go_typename(recv)}")

    def call(self, dot: Any, ident: _Ident, args: list[Any], final: Any, cmd: Any = None) -> Any:
        """A function call; Go reports a failed call (`error calling f: ...`) at the whole
        command (`<index .Config.Cmd 5>`), other errors at the function's name."""
        name = ident.name
        where = cmd if cmd is not None else ident
        if name in _LAZY:
            vals = [lambda a=a: self.arg(dot, a) for a in args]
            if final is not _MISSING:
                vals.append(lambda: final)
            if not vals:
                raise self.err(ident, f"wrong number of args for {name}: want at least 1 got 0")
            v: Any = None
            for get in vals:
                v = get()
                if (name == "and" and not go_truth(v)) or (name == "or" and go_truth(v)):
                    return v
            return v
        fn = self.funcs.get(name) or BUILTINS[name]
        argv = [self.arg(dot, a) for a in args]
        if final is not _MISSING:
            argv.append(final)
        argv = [
            None if a is NO_VALUE and name not in ("print", "println", "printf") else a
            for a in argv
        ]
        try:
            return fn(*argv)
        except _FuncError as e:
            msg = str(e)
            if not msg.startswith("error calling"):
                msg = f"error calling {name}: {msg}"
            raise self.err(where, msg) from None
        except TypeError:
            raise self.err(ident, f"wrong number of args for {name}: got {len(argv)}") from None
        except (AttributeError, ValueError) as e:
            raise self.err(where, f"error calling {name}: {e}") from None

    def arg(self, dot: Any, a: Any) -> Any:
        if isinstance(a, _Dot):
            return dot
        if isinstance(a, _Lit):
            return a.value
        if isinstance(a, _Var):
            v = self.lookup_var(a.name)
            for name in a.names:
                v = self.field(dot, a, v, name, [], _MISSING)
            return v
        if isinstance(a, _Field):
            return self.field_chain(dot, dot, a, a.names, [], _MISSING)
        if isinstance(a, _Chain):
            base = self.pipe(dot, a.node)
            return self.field_chain(dot, base, a, a.names, [], _MISSING) if a.names else base
        if isinstance(a, _Ident):
            return self.call(dot, a, [], _MISSING)
        raise self.err(a, f"can't handle {a}")  # pragma: no cover


_MISSING = object()


class Template:
    """A parsed template. `execute(data)` renders it; `funcs` overrides functions by name
    (docker renders table headers with HeaderFunctions)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.nodes = _Parser(text).parse()

    def execute(
        self,
        data: Any,
        funcs: dict[str, Callable[..., Any]] | None = None,
        missingkey_error: bool = False,
    ) -> str:
        st = _State(self.text, funcs or {}, missingkey_error)
        st.vars.append(("$", data))
        try:
            st.walk(data, self.nodes)
        except RecursionError:
            raise ExecError("template: exceeded maximum template depth") from None
        return "".join(st.out)


def parse(text: str) -> Template:
    """Parse Go template text; raises ParseError with Go's message."""
    return Template(text)
