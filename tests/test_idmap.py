"""idmap.py: /etc/subuid parsing, dockerd's range layout and search, and id translation."""

from __future__ import annotations

import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.idmap import (
    NO_MAPPING,
    IdentityMapping,
    IDMap,
    SubIDFileError,
    SubIDRange,
    UnmappableID,
    id_maps,
    next_range_start,
    parse_subid_ranges,
)

SUBUID = """\
# comment
alice:100000:65536

bob:165536:65536
1001:231072:1000
alice:300000:10
"""


def test_ranges_of_one_owner_in_file_order() -> None:
    assert parse_subid_ranges(SUBUID, "/etc/subuid", ["alice"]) == [
        SubIDRange(100000, 65536),
        SubIDRange(300000, 10),
    ]
    assert parse_subid_ranges(SUBUID, "/etc/subuid", ["1001"]) == [SubIDRange(231072, 1000)]
    assert parse_subid_ranges(SUBUID, "/etc/subuid", ["carol"]) == []


def test_none_takes_every_line() -> None:
    assert len(parse_subid_ranges(SUBUID, "/etc/subuid", None)) == 4


def test_malformed_lines_are_dockerds_errors() -> None:
    with pytest.raises(SubIDFileError) as caught:
        parse_subid_ranges("alice:1\n", "/etc/subgid", ["x"])
    assert str(caught.value) == (
        "Cannot parse subuid/gid information: Format not correct for /etc/subgid file"
    )
    with pytest.raises(SubIDFileError) as caught:
        parse_subid_ranges("alice:x:1\n", "/etc/subuid", ["alice"])
    assert str(caught.value).startswith(
        "String to int conversion failed during subuid/gid parsing of /etc/subuid: "
    )


def test_ranges_follow_each_other_from_container_id_zero() -> None:
    maps = id_maps([SubIDRange(300000, 1000), SubIDRange(400000, 65536)])
    assert maps == (IDMap(0, 300000, 1000), IDMap(1000, 400000, 65536))


@pytest.mark.parametrize(
    ("taken", "start"),
    [
        ([], 100000),
        ([SubIDRange(100000, 65536)], 165536),
        ([SubIDRange(165536, 65536), SubIDRange(100000, 65536)], 231072),  # by start
        ([SubIDRange(300000, 65536)], 100000),  # room before it
        ([SubIDRange(165536, 10)], 165546),  # touching the end counts as overlapping
        ([SubIDRange(120000, 5)], 120005),  # wholly inside the candidate
        ([SubIDRange(0, 1000)], 100000),
    ],
)
def test_next_free_range_start(taken: list[SubIDRange], start: int) -> None:
    assert next_range_start(taken) == start


TWO = IdentityMapping(
    uids=(IDMap(0, 300000, 1000), IDMap(1000, 400000, 65536)),
    gids=(IDMap(0, 500000, 65536),),
)


def test_root_pair_and_translation_both_ways() -> None:
    assert TWO.root_pair() == (300000, 500000)
    assert TWO.to_host(0, 0) == (300000, 500000)
    assert TWO.to_host(999, 7) == (300999, 500007)
    assert TWO.to_host(1000, 1000) == (400000, 501000)
    assert TWO.to_container(400005, 500100) == (1005, 100)
    assert TWO.to_container(300000, 500000) == (0, 0)


def test_the_root_pair_is_taken_as_already_mapped() -> None:
    assert TWO.to_host(300000, 500000) == (300000, 500000)  # dockerd's ToHost


def test_ids_outside_the_ranges_are_dockerds_errors() -> None:
    with pytest.raises(UnmappableID) as caught:
        TWO.to_host(66536, 0)
    assert caught.value.message == "Container ID 66536 cannot be mapped to a host ID"
    assert isinstance(caught.value, errdefs.System)
    with pytest.raises(UnmappableID) as caught:
        TWO.to_container(0, 500000)
    assert caught.value.message == "Host ID 0 cannot be mapped to a container ID"


def test_no_mapping_is_identity() -> None:
    assert NO_MAPPING.empty and not TWO.empty
    assert NO_MAPPING.root_pair() == (0, 0)
    assert NO_MAPPING.to_host(1234, 5) == (1234, 5)
    assert NO_MAPPING.to_container(100000, 0) == (100000, 0)


def test_oci_mappings() -> None:
    assert TWO.to_oci() == {
        "uidMappings": [
            {"containerID": 0, "hostID": 300000, "size": 1000},
            {"containerID": 1000, "hostID": 400000, "size": 65536},
        ],
        "gidMappings": [{"containerID": 0, "hostID": 500000, "size": 65536}],
    }
