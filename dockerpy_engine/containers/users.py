"""Who a container's process runs as: `--user` / the image's USER resolved against the image.

The same rules as dockerd, which calls runc's `libcontainer/user` (`GetExecUser`,
`GetAdditionalGroups`) on the container's /etc/passwd and /etc/group:

- the spec is `user`, `user:group`, with each part a name or a number; "" means uid 0;
- a number is always an id, never a name, and needs no passwd/group entry (ids must be in
  0..2^31-1); a name must have one, or it is an error with runc's exact message;
- a user found in passwd brings its primary gid and, unless a group was given explicitly, its
  supplementary groups: every /etc/group entry listing the user's name;
- `--group-add` entries are names or gids looked up in /etc/group.

The files are read through a callback (`read_file(path) -> bytes | None`, None when missing), so
this module never touches a rootfs and its tests need no image. A missing file is not an error:
numeric ids still work, names do not, exactly as with runc.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from .. import errdefs

PASSWD_PATH = "/etc/passwd"
GROUP_PATH = "/etc/group"

MIN_ID = 0
MAX_ID = 2**31 - 1  # runc's bound, for 32-bit compatibility

ReadFile = Callable[[str], bytes | None]

_GO_INT = re.compile(r"[+-]?[0-9]+")


class UserLookupError(errdefs.System):
    """The user or a group cannot be found in the container's files.

    A System error (500), as dockerd reports every spec failure at start: the request was
    fine, the container's configuration cannot be realised.
    """


_RANGE_MESSAGE = f"uids and gids must be in range {MIN_ID}-{MAX_ID}"
_NO_PASSWD = "no matching entries in passwd file"
_NO_GROUP = "no matching entries in group file"


@dataclass(frozen=True, slots=True)
class PasswdEntry:
    """One /etc/passwd line (name:password:uid:gid:gecos:home:shell)."""

    name: str
    uid: int
    gid: int
    home: str = ""


@dataclass(frozen=True, slots=True)
class GroupEntry:
    """One /etc/group line (name:password:gid:member,member...)."""

    name: str
    gid: int
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExecUser:
    """The process identity for the OCI spec's `process.user` (plus HOME for the env).

    `additional_gids` is what dockerd puts in `additionalGids`: the primary gid first, then
    the user's supplementary groups, then the `--group-add` groups.
    """

    uid: int
    gid: int
    additional_gids: tuple[int, ...] = ()
    home: str = ""


def resolve_user(user: str, read_file: ReadFile, group_add: Sequence[str] = ()) -> ExecUser:
    """Resolve a user spec against the container's /etc/passwd and /etc/group contents."""
    passwd_data = read_file(PASSWD_PATH)
    group_data = read_file(GROUP_PATH)
    passwd = None if passwd_data is None else parse_passwd(passwd_data)
    groups = None if group_data is None else parse_group(group_data)
    uid, gid, sgids, home = _exec_user(user, passwd, groups)
    extra = additional_groups(group_add, groups) if group_add else []
    return ExecUser(uid=uid, gid=gid, additional_gids=(gid, *sgids, *extra), home=home)


def parse_passwd(data: bytes) -> list[PasswdEntry]:
    """Every non-blank line; short lines and bad numbers give empty fields / 0, as runc."""
    entries = []
    for line in _lines(data):
        fields = line.split(":")
        entries.append(
            PasswdEntry(
                name=fields[0],
                uid=_lenient_int(_field(fields, 2)),
                gid=_lenient_int(_field(fields, 3)),
                home=_field(fields, 5),
            )
        )
    return entries


def parse_group(data: bytes) -> list[GroupEntry]:
    """Every non-blank, non-comment line (glibc allows '#' comments in /etc/group)."""
    entries = []
    for line in _lines(data):
        if line.startswith("#"):
            continue
        fields = line.split(":")
        members = _field(fields, 3)
        entries.append(
            GroupEntry(
                name=fields[0],
                gid=_lenient_int(_field(fields, 2)),
                members=tuple(members.split(",")) if members else (),
            )
        )
    return entries


def additional_groups(requested: Iterable[str], groups: list[GroupEntry] | None) -> list[int]:
    """`--group-add` entries → gids: a group's name or gid from /etc/group, else a bare number.

    Order is kept and repeats are dropped (runc returns a set in random order).
    """
    gids: list[int] = []
    for wanted in requested:
        match = next((g for g in groups or () if g.name == wanted or str(g.gid) == wanted), None)
        if match is not None:
            gid = match.gid
        else:
            number = _go_int(wanted)
            if number is None:
                raise UserLookupError(f"Unable to find group {wanted}: {_NO_GROUP}")
            gid = _in_range(number)
        if gid not in gids:
            gids.append(gid)
    return gids


# ------------------------------------------------------------------------------------ helpers


def _exec_user(
    spec: str, passwd: list[PasswdEntry] | None, groups: list[GroupEntry] | None
) -> tuple[int, int, list[int], str]:
    """runc's GetExecUser with defaults uid 0, gid 0: (uid, gid, supplementary gids, home)."""
    parts = spec.split(":")
    user_arg = parts[0]
    group_arg = parts[1] if len(parts) > 1 else ""
    uid_num = _go_int(user_arg)
    gid_num = _go_int(group_arg)

    uid, gid, home, matched_name = 0, 0, "", ""
    if user_arg == "":
        found = next((u for u in passwd or () if u.uid == 0), None)
    elif uid_num is not None:
        found = next((u for u in passwd or () if u.uid == uid_num), None)
    else:
        found = next((u for u in passwd or () if u.name == user_arg), None)
    if found is not None:
        uid, gid, home, matched_name = found.uid, found.gid, found.home, found.name
    elif user_arg:
        if uid_num is None:
            raise UserLookupError(f"unable to find user {user_arg}: {_NO_PASSWD}")
        uid = _in_range(uid_num)

    sgids: list[int] = []
    if group_arg:
        if gid_num is not None:
            match = next((g for g in groups or () if g.gid == gid_num), None)
        else:
            match = next((g for g in groups or () if g.name == group_arg), None)
        if match is not None:
            gid = match.gid
        elif gid_num is None:
            raise UserLookupError(f"unable to find group {group_arg}: {_NO_GROUP}")
        else:
            gid = _in_range(gid_num)
    elif matched_name:
        # Supplementary groups only in the implicit form: an explicit group replaces them.
        sgids = [g.gid for g in groups or () if matched_name in g.members]
    return uid, gid, sgids, home


def _lines(data: bytes) -> Iterator[str]:
    """Non-blank lines, trimmed; split on newlines only (a stray \\x1c is data, as for runc)."""
    for raw in data.split(b"\n"):
        line = raw.strip()
        if line:
            yield line.decode("utf-8", "surrogateescape")


def _field(fields: list[str], index: int) -> str:
    return fields[index] if index < len(fields) else ""


def _go_int(text: str) -> int | None:
    """strconv.Atoi: optional sign and ASCII digits only (Python's int() takes ' 1_0 ' too)."""
    return int(text) if _GO_INT.fullmatch(text) else None


def _lenient_int(text: str) -> int:
    """A passwd/group number field: runc ignores conversion errors and keeps 0."""
    value = _go_int(text)
    return 0 if value is None else value


def _in_range(number: int) -> int:
    if not MIN_ID <= number <= MAX_ID:
        raise UserLookupError(_RANGE_MESSAGE)
    return number
