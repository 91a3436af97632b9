"""`--userns-remap`: whose subordinate ids the containers run under, and the daemon root kept for
them (dockerd's parseRemappedRoot, setupRemappedRoot, setupDaemonRoot, and idtools'
AddNamespaceRangesUser and NewIdentityMapping).

The setting is `user`, `user:group`, `uid` or `uid:gid`, or `default`: the system user and
group `dockremap`, made when missing with the distribution's tool (adduser, else useradd) and
given the first free 65536 ids from 100000 in /etc/subuid and /etc/subgid (`usermod -v/-w`).
The maps are the user's ranges of both files (by uid, else by name, as dockerd 20.10 looks
them up; the group only names the setting). `root` remaps nothing.

A remapped daemon keeps its state in `<data-root>/<uid>.<gid>`, the remapped root's host ids:
the data root becomes 0710 with the remapped root's group so that it can be traversed, and
every directory above must let it through too (dockerd's start error otherwise). Blocking
(it may run adduser): call from a worker thread.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .idmap import (
    DEFAULT_RANGE_LENGTH,
    NO_MAPPING,
    IdentityMapping,
    SubIDFileError,
    id_maps,
    next_range_start,
    parse_subid_ranges,
)

if TYPE_CHECKING:
    from .config import DaemonConfig

log = logging.getLogger(__name__)

DEFAULT_SPECIFIER = "default"
DEFAULT_REMAP_USER = "dockremap"
SUBUID = Path("/etc/subuid")
SUBGID = Path("/etc/subgid")
TRAVERSABLE_MODE = 0o710  # the daemon's directories the remapped root walks through
_GO_INT32 = re.compile(r"[+-]?[0-9]+")
_JSON_KINDS = {bool: "bool", int: "number", float: "number", list: "array", dict: "object"}


class RemapError(Exception):
    """The remap setting cannot be honoured: the daemon does not start."""


class Accounts(Protocol):
    """The passwd and group databases (NSS: files, then whatever getent would ask)."""

    def user_by_name(self, name: str) -> tuple[str, int] | None: ...

    def user_by_id(self, uid: int) -> tuple[str, int] | None: ...

    def group_by_name(self, name: str) -> str | None: ...

    def group_by_id(self, gid: int) -> str | None: ...


class SystemAccounts:
    """This machine's users and groups through pwd and grp."""

    def user_by_name(self, name: str) -> tuple[str, int] | None:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            return None
        return entry.pw_name, entry.pw_uid

    def user_by_id(self, uid: int) -> tuple[str, int] | None:
        try:
            entry = pwd.getpwuid(uid)
        except (KeyError, OverflowError):
            return None
        return entry.pw_name, entry.pw_uid

    def group_by_name(self, name: str) -> str | None:
        try:
            return grp.getgrnam(name).gr_name
        except KeyError:
            return None

    def group_by_id(self, gid: int) -> str | None:
        try:
            return grp.getgrgid(gid).gr_name
        except (KeyError, OverflowError):
            return None


@dataclass(frozen=True, slots=True)
class Remap:
    """A resolved setting: `user:group` as dockerd stores it back, and the id maps."""

    user: str
    group: str
    mapping: IdentityMapping


def _missing(key: str | int, database: str) -> str:
    """libcontainer's lookup failing over to getent, as dockerd words the end of it."""
    return f'getent unable to find entry "{key}" in {database} database'


def _int32(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 32): a number if the text is one that fits."""
    if not _GO_INT32.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**31) <= value < 2**31 else None


def resolve_names(
    value: str, accounts: Accounts, add_user: Callable[[str], None]
) -> tuple[str, str]:
    """parseRemappedRoot: the user and group names a setting means, with dockerd's errors.
    `default` finds `dockremap`, or makes it with `add_user`."""
    parts = value.split(":")
    if len(parts) > 2:
        raise RemapError(f'Invalid user/group specification in --userns-remap: "{value}"')
    username = groupname = ""
    uid = _int32(parts[0])
    if uid is not None:
        user = accounts.user_by_id(uid)
        if user is None:
            raise RemapError(f"Uid {uid} has no entry in /etc/passwd: {_missing(uid, 'passwd')}")
        username = user[0]
        if len(parts) == 1:  # a uid alone: the same number as the gid
            group = accounts.group_by_id(uid)
            if group is None:
                raise RemapError(f"Gid {uid} has no entry in /etc/group: {_missing(uid, 'group')}")
            groupname = group
    else:
        lookup = DEFAULT_REMAP_USER if parts[0] == DEFAULT_SPECIFIER else parts[0]
        user = accounts.user_by_name(lookup)
        if user is None and parts[0] != DEFAULT_SPECIFIER:
            raise RemapError(
                f'Error during uid lookup for "{lookup}": {_missing(lookup, "passwd")}'
            )
        if user is None:
            try:
                add_user(DEFAULT_REMAP_USER)
            except RemapError as exc:
                raise RemapError(
                    f'Error during "{DEFAULT_REMAP_USER}" user creation: {exc}'
                ) from None
            return DEFAULT_REMAP_USER, DEFAULT_REMAP_USER
        username = user[0]
        if len(parts) == 1:
            group = accounts.group_by_name(lookup)
            if group is None:
                raise RemapError(
                    f'Error during gid lookup for "{lookup}": {_missing(lookup, "group")}'
                )
            groupname = group
    if len(parts) == 2:
        gid = _int32(parts[1])
        if gid is not None:
            group = accounts.group_by_id(gid)
            if group is None:  # dockerd's message names /etc/passwd here
                raise RemapError(f"Gid {gid} has no entry in /etc/passwd: {_missing(gid, 'group')}")
            groupname = group
        else:
            if accounts.group_by_name(parts[1]) is None:
                raise RemapError(
                    f'Error during groupname lookup for "{parts[1]}": {_missing(parts[1], "group")}'
                )
            groupname = parts[1]
    return username, groupname


def mapping_for(username: str, uid: int, subuid: str, subgid: str) -> IdentityMapping:
    """NewIdentityMapping from the texts of /etc/subuid and /etc/subgid: the lines of the
    user's uid, else of its name, in file order."""
    maps = []
    for text, path, kind in ((subuid, SUBUID, "subuid"), (subgid, SUBGID, "subgid")):
        try:
            ranges = parse_subid_ranges(text, str(path), [str(uid)]) or parse_subid_ranges(
                text, str(path), [username]
            )
        except SubIDFileError as exc:
            raise RemapError(f"Can't create ID mappings: {exc}") from None
        if not ranges:
            raise RemapError(
                f'Can\'t create ID mappings: no {kind} ranges found for user "{username}"'
            )
        maps.append(id_maps(ranges))
    return IdentityMapping(uids=maps[0], gids=maps[1])


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        raise RemapError(f"open {path}: no such file or directory") from None


def _run(*argv: str) -> tuple[bool, str]:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def add_remap_user(name: str) -> None:
    """AddNamespaceRangesUser: a system user and group, then a free range in each file for
    it unless the tools already gave it one (system users get none on Debian)."""
    if shutil.which("adduser"):
        argv = ["adduser", "--system", "--shell", "/bin/false", "--no-create-home",
                "--disabled-login", "--disabled-password", "--group", name]  # fmt: skip
    elif shutil.which("useradd"):
        argv = ["useradd", "-r", "-s", "/bin/false", name]
    else:
        raise RemapError(
            f'Error adding user "{name}": cannot add user; no useradd/adduser binary found'
        )
    ok, output = _run(*argv)
    if not ok:
        raise RemapError(f'Error adding user "{name}": failed to add user; output: "{output}"')
    for path, flag, kind in ((SUBUID, "-v", "subuid"), (SUBGID, "-w", "subgid")):
        try:
            text = _read(path)
            if parse_subid_ranges(text, str(path), [name]):
                continue
            start = next_range_start(parse_subid_ranges(text, str(path), None))
        except (RemapError, SubIDFileError) as exc:
            raise RemapError(f"Couldn't create subordinate ID ranges: {exc}") from None
        ok, output = _run("usermod", flag, f"{start}-{start + DEFAULT_RANGE_LENGTH - 1}", name)
        if not ok:
            raise RemapError(
                "Couldn't create subordinate ID ranges: Unable to add "
                f'{kind} range to user: "{name}"; output: {output}'
            )


def resolve(
    value: str,
    accounts: Accounts | None = None,
    add_user: Callable[[str], None] = add_remap_user,
) -> Remap | None:
    """setupRemappedRoot: the setting's user, group and maps; None when nothing is remapped
    (no setting, or root, which dockerd turns off with a warning)."""
    if not value:
        return None
    accounts = accounts or SystemAccounts()
    username, groupname = resolve_names(value, accounts, add_user)
    if username == "root":
        log.warning("User namespaces: root cannot be remapped with itself; user namespaces are OFF")
        return None
    log.info("User namespaces: ID ranges will be mapped to subuid/subgid ranges of: %s", username)
    user = accounts.user_by_name(username)
    if user is None:
        raise RemapError(
            f"Can't create ID mappings: Could not get user for username {username}: "
            + _missing(username, "passwd")
        )
    mapping = mapping_for(username, user[1], _read(SUBUID), _read(SUBGID))
    return Remap(username, groupname, mapping)


def can_access(path: Path, uid: int, gid: int) -> bool:
    """idtools.CanAccess: whether `uid:gid` may search (x) the directory `path`."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    mode = st.st_mode
    return bool(
        (st.st_uid == uid and mode & 0o100) or (st.st_gid == gid and mode & 0o010) or mode & 0o001
    )


def traversable(path: Path, mapping: IdentityMapping) -> None:
    """A daemon directory the remapped root walks through but does not own (dockerd's 0710,
    the daemon's uid, the remapped root's gid): made if missing, else set so."""
    path.mkdir(mode=TRAVERSABLE_MODE, parents=True, exist_ok=True)
    os.chown(path, os.getuid(), mapping.root_pair()[1])
    os.chmod(path, TRAVERSABLE_MODE)


def give_to_root(mapping: IdentityMapping, *paths: Path | str) -> None:
    """Make paths the remapped root's (a container's upper dir, its /etc files, a volume's
    data): a no-op without a remap. Symlinks are not followed."""
    if mapping.empty:
        return
    uid, gid = mapping.root_pair()
    for path in paths:
        os.chown(path, uid, gid, follow_symlinks=False)


def remapped_root(data_root: Path, mapping: IdentityMapping) -> Path:
    """setupDaemonRoot with a remap: `<data-root>/<uid>.<gid>`, reachable by the remapped
    root, which the daemon then uses as its data root."""
    uid, gid = mapping.root_pair()
    traversable(data_root, mapping)
    root = data_root / f"{uid}.{gid}"
    traversable(root, mapping)
    for parent in root.parents:
        if parent == Path("/"):
            break
        if not can_access(parent, uid, gid):
            raise RemapError(
                f"a subdirectory in your graphroot path ({root}) restricts access to the "
                "remapped root uid/gid; please fix by allowing 'o+x' permissions on existing "
                "directories"
            )
    traversable(root / "containers", mapping)
    return root


def setup(config: DaemonConfig) -> IdentityMapping:
    """At start: resolve `config.userns_remap` and move `config.data_root` to the remapped
    root, as dockerd rewrites its RemappedRoot and Root; returns the maps (empty: no remap)."""
    if not isinstance(config.userns_remap, str):  # daemon.json: dockerd's decode error
        kind = _JSON_KINDS.get(type(config.userns_remap), "value")
        raise RemapError(
            f"json: cannot unmarshal {kind} into Go struct field Config.userns-remap of type string"
        )
    remap = resolve(config.userns_remap)
    if remap is None:
        return NO_MAPPING
    config.userns_remap = f"{remap.user}:{remap.group}"
    config.data_root = remapped_root(config.data_root, remap.mapping)
    # runc, already in the user namespace, mounts the rootfs at the task's bundle, which our
    # containerd keeps under the exec root (a system containerd's /run/containerd is 0711)
    traversable(config.exec_root, remap.mapping)
    return remap.mapping
