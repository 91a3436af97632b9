#!/usr/bin/env python3
"""Generate the containerd gRPC stubs into dockerpy_engine/runtime/_pb/ (never committed).

The protos come from Debian's Go source packages (golang-github-containerd-containerd-dev,
golang-github-containerd-cgroups-dev, golang-github-gogo-googleapis-dev) under
/usr/share/gocode/src/github.com. protoc cannot compile them as they are, so each file is staged
under our own package prefix first:

* gogo.proto / containerd's fieldpath plugin imports are dropped, together with every
  `option (gogoproto.x) = ...;` / `option (containerd.plugin.x) = ...;` statement and every
  `[(gogoproto.x) = ...]` field or enum-value option (they only steer Go code generation);
* `github.com/...` and `google/rpc/...` imports are rewritten to the staged paths, so the
  generated modules import each other as `dockerpy_engine.runtime._pb....` instead of creating a
  top-level `github` package. Proto package names (containerd.events, ...) are kept, so full
  message names and Any type URLs stay what containerd sends; the one exception is google.rpc,
  renamed to dockerpy.rpc so it cannot clash with googleapis-common-protos (see
  RENAMED_PACKAGES).

Layout (proto file -> Python module under dockerpy_engine.runtime._pb):

    containerd/api/services/<svc>/v1/*.proto -> containerd.services.<svc>.v1.<name>_pb2[_grpc]
    containerd/api/types/**.proto            -> containerd.types[.task].<name>_pb2
    containerd/api/events/*.proto            -> containerd.events.<name>_pb2
    cgroups/stats/v1/metrics.proto           -> cgroups.v1.metrics_pb2
    cgroups/v2/stats/metrics.proto           -> cgroups.v2.metrics_pb2
    gogo/googleapis/google/rpc/status.proto  -> google.rpc.status_pb2

A stamp file (hash of this script, the inputs and the generator versions) makes a rerun a no-op,
so hack/install can call it every time. Usage: python proto/generate.py [--src DIR] [--out DIR]
[--force] [--quiet].
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SRC = Path("/usr/share/gocode/src/github.com")
PACKAGE_PATH = "dockerpy_engine/runtime/_pb"  # import prefix baked into the generated modules
DEFAULT_OUT = REPO / PACKAGE_PATH
STAMP = ".stamp"

SERVICES = (
    "containers",
    "content",
    "diff",
    "events",
    "images",
    "introspection",
    "leases",
    "namespaces",
    "snapshots",
    "tasks",
    "version",
)

# Imports that only feed Go code generation; dropped with the options that use them.
DROPPED_IMPORTS = frozenset(
    {
        "gogoproto/gogo.proto",
        "github.com/gogo/protobuf/gogoproto/gogo.proto",
        "github.com/containerd/containerd/protobuf/plugin/fieldpath.proto",
    }
)
FOREIGN_OPTION_PREFIXES = ("gogoproto.", "containerd.plugin.")
# Proto packages renamed while staging. googleapis-common-protos (used by grpcio-status and
# friends) registers google.rpc.Status too, and two files defining one symbol cannot share the
# default descriptor pool; the message is only a field of introspection's Plugin, never packed
# in an Any, so the rename changes nothing on the wire.
RENAMED_PACKAGES = {"google.rpc": "dockerpy.rpc"}

_STRING = r'"(?:[^"\\]|\\.)*"'
_IMPORT = re.compile(r'^(\s*)import\s+(?:(weak|public)\s+)?"([^"]+)"\s*;\s*$')
_OPTION_STMT = re.compile(
    r"option\s*\(\s*(?:gogoproto|containerd\.plugin)\.[\w.]+\s*\)\s*=\s*"
    rf"(?:{_STRING}|[^;\"]*)\s*;"
)
_BRACKETS = re.compile(rf"\s*\[((?:[^\]\"]|{_STRING})*)\]")
_RENAMED = re.compile(
    r"(?<!\w)(?<!\w\.)(" + "|".join(re.escape(p) for p in RENAMED_PACKAGES) + r")(?=[.;\s])"
)


def proto_table(src: Path) -> dict[Path, str]:
    """Map each source proto (absolute) to its staged path relative to the package root."""
    api = src / "containerd/containerd/api"
    table: dict[Path, str] = {}
    for svc in SERVICES:
        for f in sorted((api / "services" / svc / "v1").glob("*.proto")):
            table[f] = f"containerd/services/{svc}/v1/{f.name}"
    for f in sorted((api / "types").rglob("*.proto")):
        table[f] = f"containerd/types/{f.relative_to(api / 'types')}"
    for f in sorted((api / "events").glob("*.proto")):
        table[f] = f"containerd/events/{f.name}"
    table[src / "containerd/cgroups/stats/v1/metrics.proto"] = "cgroups/v1/metrics.proto"
    table[src / "containerd/cgroups/v2/stats/metrics.proto"] = "cgroups/v2/metrics.proto"
    table[src / "gogo/googleapis/google/rpc/status.proto"] = "google/rpc/status.proto"
    missing = [str(f) for f in table if not f.is_file()]
    if missing:
        raise SystemExit(
            f"generate.py: missing protos (install the Debian -dev packages): {missing}"
        )
    return table


def import_map(src: Path, table: Mapping[Path, str]) -> dict[str, str]:
    """Map import strings as written in the protos to staged import strings."""
    mapping: dict[str, str] = {}
    for f, dest in table.items():
        staged = f"{PACKAGE_PATH}/{dest}"
        mapping[f"github.com/{f.relative_to(src)}"] = staged
        if dest.startswith("google/"):
            mapping[dest] = staged  # googleapis files are imported by their include path
    return mapping


def _split_code_comment(line: str) -> tuple[str, str]:
    """Split a line at the first `//` that is outside a string literal."""
    in_str = False
    i = 0
    while i < len(line):
        c = line[i]
        if in_str:
            if c == "\\":
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif line.startswith("//", i):
            return line[:i], line[i:]
        i += 1
    return line, ""


def _split_options(inner: str) -> list[str]:
    """Split the inside of `[...]` at commas outside string literals."""
    parts: list[str] = []
    cur: list[str] = []
    in_str = esc = False
    for c in inner:
        if esc:
            esc = False
        elif in_str and c == "\\":
            esc = True
        elif c == '"':
            in_str = not in_str
        elif c == "," and not in_str:
            parts.append("".join(cur).strip())
            cur = []
            continue
        cur.append(c)
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


def _is_foreign(option: str) -> bool:
    name = option.lstrip("(").strip()
    return option.startswith("(") and name.startswith(FOREIGN_OPTION_PREFIXES)


def _strip_field_options(code: str) -> str:
    def repl(m: re.Match[str]) -> str:
        kept = [o for o in _split_options(m.group(1)) if not _is_foreign(o)]
        return f" [{', '.join(kept)}]" if kept else ""

    return _BRACKETS.sub(repl, code)


def rewrite_proto(text: str, imports: Mapping[str, str], name: str = "<proto>") -> str:
    """Return `text` without gogo/plugin options and imports, imports and packages rewritten.

    Imports of google/protobuf/* (shipped with grpc_tools) are kept; any other import that
    `imports` does not know is an error, so a new upstream dependency cannot slip through.
    """
    out: list[str] = []
    for line in text.splitlines():
        m = _IMPORT.match(line)
        if m:
            indent, modifier, path = m.groups()
            if path in DROPPED_IMPORTS:
                continue
            if path in imports:
                path = imports[path]
            elif not path.startswith("google/protobuf/"):
                raise ValueError(f"{name}: unknown import {path!r}")
            out.append(f'{indent}import {modifier + " " if modifier else ""}"{path}";')
            continue
        code, comment = _split_code_comment(line)
        new = _strip_field_options(_OPTION_STMT.sub("", code))
        new = _RENAMED.sub(lambda m: RENAMED_PACKAGES[m.group(1)], new)
        if new != code:
            new = re.sub(r"\s+;", ";", new).rstrip()
            if not new.strip() and not comment:
                continue  # the line held only options we removed
        out.append(new + comment)
    return "\n".join(out) + "\n"


def fingerprint(table: Mapping[Path, str]) -> str:
    """Hash everything the output depends on: this script, the inputs, the generator versions."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    for dist in ("grpcio-tools", "protobuf"):
        h.update(f"{dist}={importlib.metadata.version(dist)}\n".encode())
    for f in sorted(table):
        h.update(f"{f}\0{table[f]}\0".encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _protoc(stage: Path, out: Path, files: list[str]) -> None:
    from grpc_tools import protoc  # imported late: the up-to-date path stays fast

    wkt = Path(protoc.__file__).parent / "_proto"
    args = ["grpc_tools.protoc", f"-I{stage}", f"-I{wkt}"]
    args += [f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}", *files]
    if protoc.main(args) != 0:
        raise SystemExit("generate.py: protoc failed (see above)")


def generate(src: Path, out: Path, *, force: bool = False) -> bool:
    """Regenerate `out` unless its stamp is current; return whether anything was written."""
    table = proto_table(src)
    stamp = fingerprint(table)
    stamp_file = out / STAMP
    if not force and stamp_file.is_file() and stamp_file.read_text().strip() == stamp:
        return False
    imports = import_map(src, table)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pb-", dir=out.parent) as tmp:
        stage, build = Path(tmp, "stage"), Path(tmp, "build")
        files = []
        for f, dest in table.items():
            staged = stage / PACKAGE_PATH / dest
            staged.parent.mkdir(parents=True, exist_ok=True)
            staged.write_text(rewrite_proto(f.read_text(), imports, str(f)))
            files.append(f"{PACKAGE_PATH}/{dest}")
        build.mkdir()
        _protoc(stage, build, files)
        result = build / PACKAGE_PATH
        _write_inits(result)
        (result / STAMP).write_text(stamp + "\n")
        old = Path(tmp, "old")
        if out.exists():
            os.rename(out, old)
        os.rename(result, out)
    return True


def _write_inits(root: Path) -> None:
    doc = '"""containerd API stubs generated by proto/generate.py; do not edit or commit."""\n'
    (root / "__init__.py").write_text(doc)
    for d in root.rglob("*"):
        if d.is_dir() and not (d / "__init__.py").exists():
            (d / "__init__.py").write_text("")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", type=Path, default=DEFAULT_SRC, help="Go source root (github.com)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the _pb package directory")
    p.add_argument("--force", action="store_true", help="regenerate even if up to date")
    p.add_argument("--quiet", "-q", action="store_true")
    a = p.parse_args(argv)
    changed = generate(a.src.resolve(), a.out.resolve(), force=a.force)
    if not a.quiet:
        print(f"generate.py: {'generated' if changed else 'up to date'}: {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
