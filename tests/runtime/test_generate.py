"""proto/generate.py: the text rewriting that makes Debian's containerd protos compile."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "proto" / "generate.py"
_spec = importlib.util.spec_from_file_location("proto_generate", _PATH)
assert _spec is not None and _spec.loader is not None
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

PREFIX = "dockerpy_engine/runtime/_pb"
MOUNT = "containerd/containerd/api/types/mount.proto"
IMPORTS = {
    f"github.com/{MOUNT}": f"{PREFIX}/containerd/types/mount.proto",
    "google/rpc/status.proto": f"{PREFIX}/google/rpc/status.proto",
}


def rewrite(text: str) -> str:
    return gen.rewrite_proto(text, IMPORTS, "test.proto")


def test_file_and_message_options_are_removed() -> None:
    src = (
        'syntax = "proto3";\n'
        "option (gogoproto.sizer_all) = true;\n"
        'option go_package = "github.com/containerd/containerd/api/events;events";\n'
        "message Envelope {\n"
        "\toption (containerd.plugin.fieldpath) = true;\n"
        "\tstring topic = 3;\n"
        "}\n"
        "enum Kind {\n"
        '\toption (gogoproto.enum_customname) = "Kind";\n'
        "\tUNKNOWN = 0;\n"
        "}\n"
    )
    out = rewrite(src)
    assert "gogoproto" not in out and "containerd.plugin" not in out
    assert 'option go_package = "github.com/containerd/containerd/api/events;events";' in out
    assert "\tstring topic = 3;" in out and "\tUNKNOWN = 0;" in out
    assert out.count("\n") == src.count("\n") - 3  # the option-only lines are gone


def test_field_options_are_removed_and_others_kept() -> None:
    out = rewrite(
        "message M {\n"
        '\tstring os = 1 [(gogoproto.customname) = "OS"];\n'
        "\tgoogle.protobuf.Timestamp at = 2"
        " [(gogoproto.stdtime) = true, (gogoproto.nullable) = false];\n"
        "\tstring old = 3 [deprecated = true, (gogoproto.nullable) = false];\n"
        '\tstring tag = 4 [(gogoproto.moretags) = "json:\\"a,b]\\"", json_name = "t"];\n'
        "}\n"
    )
    assert "\tstring os = 1;\n" in out
    assert "\tgoogle.protobuf.Timestamp at = 2;\n" in out
    assert "\tstring old = 3 [deprecated = true];\n" in out
    assert '\tstring tag = 4 [json_name = "t"];\n' in out


def test_enum_value_options_are_removed() -> None:
    out = rewrite(
        'enum S {\n\tCREATED = 1 [(gogoproto.enumvalue_customname) = "StatusCreated"];\n}\n'
    )
    assert "\tCREATED = 1;\n" in out


def test_comments_are_left_alone() -> None:
    line = "\tstring digest = 2; // see [(gogoproto.customtype)], not code"
    assert rewrite(line + "\n") == line + "\n"


def test_imports_are_dropped_rewritten_or_kept() -> None:
    out = rewrite(
        'import weak "gogoproto/gogo.proto";\n'
        'import "gogoproto/gogo.proto";\n'
        'import weak "github.com/containerd/containerd/protobuf/plugin/fieldpath.proto";\n'
        'import "github.com/containerd/containerd/api/types/mount.proto";\n'
        'import "google/protobuf/any.proto";\n'
        'import "google/rpc/status.proto";\n'
    )
    assert out.splitlines() == [
        f'import "{PREFIX}/containerd/types/mount.proto";',
        'import "google/protobuf/any.proto";',
        f'import "{PREFIX}/google/rpc/status.proto";',
    ]


def test_unknown_import_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown import"):
        rewrite('import "github.com/example/other.proto";\n')


def test_google_rpc_package_is_renamed_everywhere_it_is_code() -> None:
    out = rewrite(
        "package google.rpc;\n"
        'option java_package = "com.google.rpc";\n'
        "message Plugin {\n"
        "\tgoogle.rpc.Status init_err = 7;\n"
        "\t.google.rpc.Status other = 8;\n"
        "\tgoogle.protobuf.Any any = 9;\n"
        "}\n"
    )
    assert "package dockerpy.rpc;" in out
    assert 'option java_package = "com.google.rpc";' in out
    assert "\tdockerpy.rpc.Status init_err = 7;" in out
    assert "\t.dockerpy.rpc.Status other = 8;" in out
    assert "\tgoogle.protobuf.Any any = 9;" in out


def _fake_tree(src: Path) -> None:
    api = src / "containerd/containerd/api"
    for rel in (
        "services/tasks/v1/tasks.proto",
        "types/mount.proto",
        "types/task/task.proto",
        "events/task.proto",
    ):
        (api / rel).parent.mkdir(parents=True, exist_ok=True)
        (api / rel).write_text('syntax = "proto3";\n')
    for rel in (
        "containerd/cgroups/stats/v1/metrics.proto",
        "containerd/cgroups/v2/stats/metrics.proto",
        "gogo/googleapis/google/rpc/status.proto",
    ):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text('syntax = "proto3";\n')


def test_layout_and_import_map(tmp_path: Path) -> None:
    _fake_tree(tmp_path)
    table = gen.proto_table(tmp_path)
    assert sorted(table.values()) == [
        "cgroups/v1/metrics.proto",
        "cgroups/v2/metrics.proto",
        "containerd/events/task.proto",
        "containerd/services/tasks/v1/tasks.proto",
        "containerd/types/mount.proto",
        "containerd/types/task/task.proto",
        "google/rpc/status.proto",
    ]
    imports = gen.import_map(tmp_path, table)
    assert imports["github.com/containerd/containerd/api/types/task/task.proto"] == (
        f"{PREFIX}/containerd/types/task/task.proto"
    )
    assert imports["google/rpc/status.proto"] == f"{PREFIX}/google/rpc/status.proto"
    assert not any("ttrpc" in k for k in imports)


def test_fingerprint_follows_the_inputs(tmp_path: Path) -> None:
    _fake_tree(tmp_path)
    table = gen.proto_table(tmp_path)
    before = gen.fingerprint(table)
    assert gen.fingerprint(table) == before
    next(iter(table)).write_text('syntax = "proto3";\n// changed\n')
    assert gen.fingerprint(table) != before


@pytest.mark.skipif(not gen.DEFAULT_SRC.is_dir(), reason="Debian containerd protos not installed")
def test_debian_protos_rewrite_cleanly() -> None:
    table = gen.proto_table(gen.DEFAULT_SRC)
    imports = gen.import_map(gen.DEFAULT_SRC, table)
    for f in table:
        for line in gen.rewrite_proto(f.read_text(), imports, str(f)).splitlines():
            code = line.split("//", 1)[0]
            assert "gogoproto" not in code and "containerd.plugin" not in code, (f, line)
            if code.lstrip().startswith("import "):
                assert "github.com/" not in code, (f, line)
