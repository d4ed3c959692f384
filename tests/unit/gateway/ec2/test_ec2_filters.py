"""gateway/ec2/filters.py and paging.py: EC2 filter semantics (wildcards,
AND across filters, OR across values, tags) and MaxResults / NextToken."""

from __future__ import annotations

import pytest

from gateway.ec2.errors import Ec2Error
from gateway.ec2.filters import Filters, names_owner, owners_as_accounts, pattern
from gateway.ec2.paging import decode_token, encode_token, page, reject_ids_with_max_results

ITEMS = [{"name": "web-1", "cpus": 2, "public": True, "tags": {"env": "prod", "Name": "a"}},
         {"name": "web-2", "cpus": 4, "public": False, "tags": {"env": "dev"}},
         {"name": "db?1", "cpus": 2, "public": False, "tags": {}}]
FILTERS = Filters({"name": lambda i: i["name"], "cpus": lambda i: i["cpus"],
                   "public": lambda i: i["public"], "both": lambda i: [i["name"], "x"]},
                  tags=lambda i: i["tags"])


def names(filters) -> list[str]:
    return [i["name"] for i in FILTERS.apply(ITEMS, filters)]


@pytest.mark.parametrize(("value", "text", "matches"), [
    ("web-*", "web-1", True), ("web-*", "xweb-1", False), ("*", "", True),
    ("web-?", "web-1", True), ("web-?", "web-10", False), ("WEB-*", "web-1", False),
    ("db\\?1", "db?1", True), ("db\\?1", "dbx1", False), ("a\\*", "a*", True),
    ("a.b", "axb", False), ("(x)", "(x)", True), ("trail\\", "trail\\", True),
])
def test_wildcards(value, text, matches):
    assert bool(pattern(value).fullmatch(text)) is matches


def test_values_are_ored_and_filters_anded():
    assert names([{"Name": "name", "Values": ["web-1", "db*"]}]) == ["web-1", "db?1"]
    assert names([{"Name": "name", "Values": ["web-*"]},
                  {"Name": "cpus", "Values": ["2"]}]) == ["web-1"]
    assert names(None) == names([]) == ["web-1", "web-2", "db?1"]


def test_numbers_and_booleans_compare_as_ec2_writes_them():
    assert names([{"Name": "cpus", "Values": ["4"]}]) == ["web-2"]
    assert names([{"Name": "public", "Values": ["true"]}]) == ["web-1"]
    assert names([{"Name": "public", "Values": ["True"]}]) == []


def test_multi_valued_fields_match_any_value():
    assert names([{"Name": "both", "Values": ["x"]}]) == ["web-1", "web-2", "db?1"]


def test_tag_filters():
    assert names([{"Name": "tag:env", "Values": ["prod"]}]) == ["web-1"]
    assert names([{"Name": "tag:env", "Values": ["*"]}]) == ["web-1", "web-2"]
    assert names([{"Name": "tag-key", "Values": ["Name"]}]) == ["web-1"]
    assert names([{"Name": "tag-value", "Values": ["dev"]}]) == ["web-2"]


@pytest.mark.parametrize("bad", [
    [{"Name": "nope", "Values": ["x"]}],
    [{"Name": "tag:", "Values": ["x"]}],
    [{"Values": ["x"]}],
    [{"Name": "name"}],
    [{"Name": "name", "Values": []}],
    [{"Name": "name", "Values": ["x"] * 201}],
])
def test_malformed_filters_are_invalid_parameter_values(bad):
    with pytest.raises(Ec2Error) as info:
        names(bad)
    assert (info.value.code, info.value.status) == ("InvalidParameterValue", 400)


def test_tag_filters_need_tags():
    with pytest.raises(Ec2Error):
        Filters({"name": lambda i: i}).matcher([{"Name": "tag:x", "Values": ["y"]}])


# ---- paging -----------------------------------------------------------------

KEYS = [f"k{i:02d}" for i in range(12)]


def test_pages_walk_everything_once_and_the_last_has_no_token():
    seen, token, pages = [], None, 0
    while True:
        chunk, token = page(KEYS, lambda k: k, 5, token)
        seen += chunk
        pages += 1
        if token is None:
            break
    assert seen == KEYS and pages == 3


def test_no_max_results_is_everything():
    assert page(KEYS, lambda k: k, None, None) == (KEYS, None)
    assert page(KEYS, lambda k: k, 12, None) == (KEYS, None)


def test_token_round_trip_and_garbage():
    assert decode_token(encode_token("k03")) == "k03"
    for garbage in ("nope", "e30=", "eyJhZnRlciI6IDF9", "\u00e9"):
        with pytest.raises(Ec2Error) as info:
            page(KEYS, lambda k: k, 5, garbage)
        assert info.value.code == "InvalidPaginationToken"


def test_ids_and_max_results_together_are_refused():
    reject_ids_with_max_results([], 5, "instancesSet")
    reject_ids_with_max_results(["i-1"], None, "instancesSet")
    with pytest.raises(Ec2Error) as info:
        reject_ids_with_max_results(["i-1"], 5, "instancesSet")
    assert info.value.code == "InvalidParameterCombination"


@pytest.mark.parametrize(("name", "owner"), [
    ("owner-id", True), ("ip-permission.user-id", True), ("egress.ip-permission.user-id", True),
    ("network-interface-owner-id", True), ("owner-alias", False), ("name", False), (None, False)])
def test_names_owner(name, owner):
    assert names_owner(name) is owner


def test_owner_filter_values_that_are_project_ids_become_account_ids():
    accounts = {"p1": "012345678901"}
    given = [{"Name": "owner-id", "Values": ["p1", "999999999999", "0123*"]},
             {"Name": "name", "Values": ["p1"]}]
    assert owners_as_accounts(given, accounts) == [
        {"Name": "owner-id", "Values": ["012345678901", "999999999999", "0123*"]},
        {"Name": "name", "Values": ["p1"]}]
    assert given[0]["Values"][0] == "p1"  # the caller's list is left alone
    assert owners_as_accounts(None, accounts) is None
    assert owners_as_accounts([], accounts) == []
