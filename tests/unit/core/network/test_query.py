"""core/network/query.py through a service: Neutron's filters (any of the
values given, typed, unknown keys ignored), sorting on several keys, paging by
limit and marker (both ways), the four tag filters, and bad queries."""

from __future__ import annotations

import pytest

from core import errors
from core.network.query import ListQuery, as_bool, as_int
from tests.support.core_services import ADMIN, MEMBER


@pytest.fixture
def nets(core) -> dict[str, str]:
    made = {}
    for name, mtu, up in (("a", 1500, True), ("b", 1400, False), ("c", 1400, True),
                          ("d", 9000, True)):
        made[name] = core.network.networks.create(MEMBER, {
            "name": name, "mtu": mtu, "admin_state_up": up})["id"]
    for name, tags in (("a", ["red", "blue"]), ("b", ["red"]), ("c", ["blue"])):
        core.network.tags.replace(MEMBER, "networks", made[name], tags)
    return made


def names(core, query: ListQuery) -> list[str]:
    return [n["name"] for n in core.network.networks.list(MEMBER, query)
            if n["project_id"] == "p1"]


def test_filters(core, nets):
    assert names(core, ListQuery(filters={"name": ["a", "c"]})) == \
        sorted(["a", "c"], key=lambda n: nets[n])
    assert sorted(names(core, ListQuery(filters={"mtu": ["1400"]}))) == ["b", "c"]
    assert names(core, ListQuery(filters={"admin_state_up": ["False"]})) == ["b"]
    assert sorted(names(core, ListQuery(filters={"admin_state_up": ["true"]}))) == \
        ["a", "c", "d"]
    assert sorted(names(core, ListQuery(filters={"no_such_attribute": ["x"]}))) == \
        ["a", "b", "c", "d"]  # ignored
    assert names(core, ListQuery(filters={"name": []})) == names(core, ListQuery())
    external = core.network.networks.list(MEMBER, ListQuery(filters={"router:external":
                                                                     ["True"]}))
    assert [n["name"] for n in external] == ["public"]
    assert [n["name"] for n in core.network.networks.list(ADMIN, ListQuery(filters={
        "tenant_id": ["p1"], "name": ["d"]}))] == ["d"]


def test_sorting(core, nets):
    assert names(core, ListQuery(sort=[("name", False)])) == ["d", "c", "b", "a"]
    assert names(core, ListQuery(sort=[("mtu", True), ("name", False)])) == \
        ["c", "b", "a", "d"]
    with pytest.raises(errors.InvalidInput, match="is invalid attribute for sort_keys"):
        core.network.networks.list(MEMBER, ListQuery(sort=[("colour", True)]))


def test_paging_by_limit_and_marker(core, nets):
    mine = ListQuery(filters={"tenant_id": ["p1"]}, sort=[("name", True)], limit=2)
    first = core.network.networks.list(MEMBER, mine)
    assert [n["name"] for n in first] == ["a", "b"]
    second = core.network.networks.list(MEMBER, ListQuery(
        filters=mine.filters, sort=mine.sort, limit=2, marker=first[-1]["id"]))
    assert [n["name"] for n in second] == ["c", "d"]
    assert core.network.networks.list(MEMBER, ListQuery(
        filters=mine.filters, sort=mine.sort, limit=2, marker=second[-1]["id"])) == []
    back = core.network.networks.list(MEMBER, ListQuery(
        filters=mine.filters, sort=mine.sort, limit=2, marker=second[0]["id"],
        page_reverse=True))
    assert [n["name"] for n in back] == ["a", "b"]
    assert len(core.network.networks.list(MEMBER, ListQuery(
        filters=mine.filters, limit=0))) == 4  # 0: no limit
    with pytest.raises(errors.NotFound, match="Marker"):
        core.network.networks.list(MEMBER, ListQuery(marker="no-such-id"))
    with pytest.raises(errors.InvalidInput, match="Limit must be"):
        core.network.networks.list(MEMBER, ListQuery(limit=-1))


def test_tag_filters(core, nets):
    assert sorted(names(core, ListQuery(tags=["red", "blue"]))) == ["a"]
    assert sorted(names(core, ListQuery(tags_any=["red", "blue"]))) == ["a", "b", "c"]
    assert sorted(names(core, ListQuery(not_tags=["red", "blue"]))) == ["b", "c", "d"]
    assert sorted(names(core, ListQuery(not_tags_any=["red", "blue"]))) == ["d"]


def test_bad_values_are_invalid_input(core, nets):
    with pytest.raises(errors.InvalidInput, match="not a valid boolean"):
        core.network.networks.list(MEMBER, ListQuery(filters={"shared": ["perhaps"]}))
    with pytest.raises(errors.InvalidInput, match="not an integer"):
        core.network.networks.list(MEMBER, ListQuery(filters={"mtu": ["big"]}))


@pytest.mark.parametrize(("raw", "value"), [("True", True), ("true", True), ("1", True),
                                            ("False", False), ("off", False), (True, True)])
def test_booleans(raw, value):
    assert as_bool(raw, "x") is value


def test_integers():
    assert as_int(" 42 ", "x") == 42
    for bad in ("4.2", True, "x"):
        with pytest.raises(errors.InvalidInput):
            as_int(bad, "x")
