"""userns.py's logic on fake accounts: what a --userns-remap setting resolves to, with
dockerd's errors, and the maps read from subuid/subgid texts."""

from __future__ import annotations

import pytest

from dockerpy_engine import userns
from dockerpy_engine.idmap import IdentityMapping, IDMap
from dockerpy_engine.userns import RemapError, mapping_for, resolve, resolve_names


class FakeAccounts:
    def __init__(self) -> None:
        self.users = {"root": 0, "alice": 1000, "nobody": 65534, "daemon": 1}
        self.groups = {"root": 0, "alice": 1000, "staff": 50, "nogroup": 65534}

    def user_by_name(self, name: str) -> tuple[str, int] | None:
        return (name, self.users[name]) if name in self.users else None

    def user_by_id(self, uid: int) -> tuple[str, int] | None:
        return next(((n, u) for n, u in self.users.items() if u == uid), None)

    def group_by_name(self, name: str) -> str | None:
        return name if name in self.groups else None

    def group_by_id(self, gid: int) -> str | None:
        return next((n for n, g in self.groups.items() if g == gid), None)


def never(name: str) -> None:
    raise AssertionError(f"would have added {name}")


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("alice", ("alice", "alice")),
        ("alice:staff", ("alice", "staff")),
        ("alice:50", ("alice", "staff")),
        ("1000", ("alice", "alice")),
        ("1000:staff", ("alice", "staff")),
        ("+1000", ("alice", "alice")),  # Go's ParseInt takes a sign
    ],
)
def test_names_of_a_setting(value: str, names: tuple[str, str]) -> None:
    assert resolve_names(value, FakeAccounts(), never) == names


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a:b:c", 'Invalid user/group specification in --userns-remap: "a:b:c"'),
        ("carol", 'Error during uid lookup for "carol": getent unable to find entry "carol" in '
                  "passwd database"),
        ("4242", 'Uid 4242 has no entry in /etc/passwd: getent unable to find entry "4242" in '
                 "passwd database"),
        ("1", 'Gid 1 has no entry in /etc/group: getent unable to find entry "1" in group '
              "database"),
        ("nobody", 'Error during gid lookup for "nobody": getent unable to find entry "nobody" '
                   "in group database"),
        ("alice:77", 'Gid 77 has no entry in /etc/passwd: getent unable to find entry "77" in '
                     "group database"),
        ("alice:wheel", 'Error during groupname lookup for "wheel": getent unable to find entry '
                        '"wheel" in group database'),
    ],
)  # fmt: skip
def test_bad_settings_are_dockerds_errors(value: str, message: str) -> None:
    with pytest.raises(RemapError) as caught:
        resolve_names(value, FakeAccounts(), never)
    assert str(caught.value) == message


def test_default_is_dockremap_made_when_missing() -> None:
    accounts = FakeAccounts()
    added: list[str] = []
    assert resolve_names("default", accounts, added.append) == ("dockremap", "dockremap")
    assert added == ["dockremap"]
    accounts.users["dockremap"] = 999
    accounts.groups["dockremap"] = 995
    assert resolve_names("default", accounts, never) == ("dockremap", "dockremap")


def test_a_failed_creation_is_dockerds_error() -> None:
    def fail(name: str) -> None:
        raise RemapError(f'Error adding user "{name}": no tool')

    with pytest.raises(RemapError) as caught:
        resolve_names("default", FakeAccounts(), fail)
    assert str(caught.value) == (
        'Error during "dockremap" user creation: Error adding user "dockremap": no tool'
    )


def test_root_and_nothing_remap_nothing() -> None:
    assert resolve("", FakeAccounts(), never) is None
    assert resolve("root", FakeAccounts(), never) is None
    assert resolve("0:0", FakeAccounts(), never) is None


def test_maps_come_from_the_uids_lines_else_the_names() -> None:
    subuid = "alice:100000:65536\n1000:200000:65536\n1000:300000:5\n"
    subgid = "alice:400000:65536\n"
    mapping = mapping_for("alice", 1000, subuid, subgid)
    assert mapping == IdentityMapping(
        uids=(IDMap(0, 200000, 65536), IDMap(65536, 300000, 5)),
        gids=(IDMap(0, 400000, 65536),),
    )


@pytest.mark.parametrize(
    ("subuid", "subgid", "message"),
    [
        ("", "alice:1:2\n", 'Can\'t create ID mappings: no subuid ranges found for user "alice"'),
        ("alice:1:2\n", "bob:1:2\n", 'Can\'t create ID mappings: no subgid ranges found for user '
                                     '"alice"'),
        ("alice:1\n", "", "Can't create ID mappings: Cannot parse subuid/gid information: Format "
                          "not correct for /etc/subuid file"),
    ],
)  # fmt: skip
def test_missing_or_bad_ranges_are_dockerds_errors(subuid: str, subgid: str, message: str) -> None:
    with pytest.raises(RemapError) as caught:
        mapping_for("alice", 1000, subuid, subgid)
    assert str(caught.value) == message


def test_the_remap_files_are_the_systems() -> None:
    assert str(userns.SUBUID) == "/etc/subuid" and str(userns.SUBGID) == "/etc/subgid"
