"""--user / USER resolved against an image's /etc/passwd and /etc/group, with runc's rules and
messages."""

from __future__ import annotations

import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.containers.users import (
    ExecUser,
    GroupEntry,
    PasswdEntry,
    UserLookupError,
    additional_groups,
    parse_group,
    parse_passwd,
    resolve_user,
)

PASSWD = b"""root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin

bob:x:1000:1000:Bob,,,:/home/bob:/bin/sh
  alice:x:1001:100::/home/alice:/bin/sh
dup:x:1000:5:second entry for uid 1000:/nowhere:/bin/false
short:x:1002
"""

GROUP = b"""root:x:0:
# a comment, as glibc allows
wheel:x:10:root,bob
users:x:100:
staff:x:50:alice,bob
bob:x:1000:
audio:x:29:bob
"""


def reader(passwd: bytes | None = PASSWD, group: bytes | None = GROUP):
    files = {"/etc/passwd": passwd, "/etc/group": group}
    return lambda path: files.get(path)


def lookup_message(spec: str, **files: bytes | None) -> str:
    with pytest.raises(UserLookupError) as caught:
        resolve_user(spec, reader(**files))
    return caught.value.message


# ------------------------------------------------------------------------------ user specs


def test_empty_means_root_with_roots_supplementary_groups() -> None:
    assert resolve_user("", reader()) == ExecUser(
        uid=0, gid=0, additional_gids=(0, 10), home="/root"
    )


def test_name_brings_primary_gid_supplementary_groups_and_home() -> None:
    assert resolve_user("bob", reader()) == ExecUser(
        uid=1000, gid=1000, additional_gids=(1000, 10, 50, 29), home="/home/bob"
    )


def test_uid_is_looked_up_by_number_first_entry_wins() -> None:
    assert resolve_user("1000", reader()) == resolve_user("bob", reader())


def test_unknown_uid_needs_no_entry() -> None:
    assert resolve_user("4242", reader()) == ExecUser(uid=4242, gid=0, additional_gids=(0,))


def test_unknown_name_is_runcs_error() -> None:
    assert lookup_message("nobody2") == (
        "unable to find user nobody2: no matching entries in passwd file"
    )


def test_lookup_error_is_a_system_error_as_dockerd_reports_spec_failures() -> None:
    with pytest.raises(errdefs.System):
        resolve_user("nobody2", reader())


def test_explicit_group_replaces_primary_and_supplementary_groups() -> None:
    assert resolve_user("bob:staff", reader()) == ExecUser(
        uid=1000, gid=50, additional_gids=(50,), home="/home/bob"
    )
    assert resolve_user("bob:29", reader()).additional_gids == (29,)


def test_numeric_group_needs_no_entry() -> None:
    assert resolve_user("bob:4242", reader()).gid == 4242
    assert resolve_user("4242:4343", reader()) == ExecUser(
        uid=4242, gid=4343, additional_gids=(4343,)
    )


def test_uid_with_group_name() -> None:
    assert resolve_user("1001:wheel", reader()) == ExecUser(
        uid=1001, gid=10, additional_gids=(10,), home="/home/alice"
    )


def test_unknown_group_name_is_runcs_error() -> None:
    assert lookup_message("bob:nogroup") == (
        "unable to find group nogroup: no matching entries in group file"
    )


def test_only_user_and_group_parts_count() -> None:
    assert resolve_user("bob:staff:extra", reader()).gid == 50


def test_ids_out_of_range_are_refused() -> None:
    message = "uids and gids must be in range 0-2147483647"
    assert lookup_message("-1") == message
    assert lookup_message("2147483648") == message
    assert lookup_message("0:-5") == message
    assert resolve_user("2147483647", reader()).uid == 2**31 - 1


def test_numbers_parse_as_go_does() -> None:
    assert resolve_user("+7", reader()).uid == 7  # strconv.Atoi takes a sign
    assert lookup_message(" 7") == "unable to find user  7: no matching entries in passwd file"
    assert lookup_message("1_0") == "unable to find user 1_0: no matching entries in passwd file"


def test_missing_files_allow_numbers_but_not_names() -> None:
    missing = reader(passwd=None, group=None)
    assert resolve_user("", missing) == ExecUser(uid=0, gid=0, additional_gids=(0,))
    assert resolve_user("10:20", missing) == ExecUser(uid=10, gid=20, additional_gids=(20,))
    with pytest.raises(UserLookupError, match="unable to find user bob: no matching entries"):
        resolve_user("bob", missing)
    with pytest.raises(UserLookupError, match="unable to find group staff: no matching entries"):
        resolve_user("bob:staff", reader(group=None))


def test_user_without_supplementary_groups() -> None:
    assert resolve_user("daemon", reader()) == ExecUser(
        uid=1, gid=1, additional_gids=(1,), home="/usr/sbin"
    )


def test_short_passwd_line_gives_empty_fields() -> None:
    assert resolve_user("short", reader()) == ExecUser(uid=1002, gid=0, additional_gids=(0,))


# ------------------------------------------------------------------------------ --group-add


def test_group_add_by_name_gid_and_bare_number_in_order() -> None:
    user = resolve_user("alice", reader(), group_add=["audio", "10", "777"])
    assert user.additional_gids == (100, 50, 29, 10, 777)


def test_group_add_unknown_name_is_runcs_error() -> None:
    with pytest.raises(UserLookupError) as caught:
        resolve_user("bob", reader(), group_add=["video"])
    assert caught.value.message == "Unable to find group video: no matching entries in group file"


def test_group_add_repeats_are_dropped() -> None:
    groups = parse_group(GROUP)
    assert additional_groups(["audio", "29", "audio", "staff"], groups) == [29, 50]


def test_group_add_without_group_file_takes_numbers() -> None:
    assert additional_groups(["5", "6"], None) == [5, 6]
    with pytest.raises(UserLookupError, match="Unable to find group audio"):
        additional_groups(["audio"], None)
    with pytest.raises(UserLookupError, match="uids and gids must be in range"):
        additional_groups(["-3"], None)


# ------------------------------------------------------------------------------ parsing


def test_parse_passwd_skips_blank_lines_and_trims() -> None:
    entries = parse_passwd(PASSWD)
    assert [e.name for e in entries] == ["root", "daemon", "bob", "alice", "dup", "short"]
    assert entries[3] == PasswdEntry(name="alice", uid=1001, gid=100, home="/home/alice")


def test_parse_group_skips_comments_and_splits_members() -> None:
    entries = parse_group(GROUP)
    assert entries[0] == GroupEntry(name="root", gid=0, members=())
    assert entries[1] == GroupEntry(name="wheel", gid=10, members=("root", "bob"))
    assert len(entries) == 6


def test_parse_handles_crlf_and_bad_numbers() -> None:
    assert parse_passwd(b"x:x:abc:7:::\r\n") == [PasswdEntry(name="x", uid=0, gid=7)]
    assert parse_group(b"g:x:12:a,b\r\n") == [GroupEntry(name="g", gid=12, members=("a", "b"))]
