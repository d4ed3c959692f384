"""core/tagging: which IDs are taggable, AWS's key/value rules, and which
tags a DeleteTags list matches."""

from __future__ import annotations

import pytest

from core import errors
from core.idmap.ids import Kind
from core.tagging.rules import (
    MAX_TAGS,
    RESOURCE_TYPES,
    TagLimitExceeded,
    UnknownResourceId,
    check_key,
    check_tags,
    kind_of,
    matches,
)


@pytest.mark.parametrize(("value", "kind"), [
    ("i-0123456789abcdef0", Kind.INSTANCE), ("AMI-01234567", Kind.IMAGE),
    ("sg-0123456789abcdef0", Kind.SECURITY_GROUP), ("key-01234567", Kind.KEY_PAIR),
    ("eipalloc-01234567", Kind.ADDRESS), ("vol-x", Kind.VOLUME), ("snap-1", Kind.SNAPSHOT),
    ("subnet-01234567", Kind.SUBNET), ("vpc-01234567", Kind.VPC),
    ("eni-01234567", Kind.NETWORK_INTERFACE), ("igw-01234567", Kind.INTERNET_GATEWAY)])
def test_kind_by_prefix(value, kind):
    assert kind_of(value) == kind


@pytest.mark.parametrize("value", ["r-0123456789abcdef0", "eipassoc-01234567", "bogus",
                                   "", "rtbassoc-01234567", "-01234567"])
def test_untaggable_ids(value):
    with pytest.raises(UnknownResourceId) as info:
        kind_of(value)
    assert info.value.message == f"The ID '{value}' is not valid"


def test_resource_types_cover_the_taggable_kinds():
    assert set(RESOURCE_TYPES) == set(Kind) - {
        Kind.RESERVATION, Kind.ASSOCIATION, Kind.ROUTE_TABLE_ASSOCIATION, Kind.ATTACHMENT,
        Kind.VPC_CIDR_ASSOCIATION, Kind.SECURITY_GROUP_RULE}
    assert RESOURCE_TYPES[Kind.ADDRESS] == "elastic-ip"


def test_key_and_value_rules():
    check_tags({"k" * 128: "v" * 256, "Name": "", "AWSome": "x", "aws": "x"})
    for key in ("", "k" * 129, "aws:x", "AWS:cloudformation:stack"):
        with pytest.raises(errors.InvalidInput):
            check_key(key)
    with pytest.raises(errors.InvalidInput):
        check_tags({"k": "v" * 257})
    with pytest.raises(TagLimitExceeded):
        check_tags({f"k{i}": "" for i in range(MAX_TAGS + 1)})
    check_tags({f"k{i}": "" for i in range(MAX_TAGS)})


def test_delete_matching():
    assert matches("env", "prod", None)
    assert not matches("aws:owner", "x", None)  # never AWS's own
    assert matches("env", "prod", [("env", None)])
    assert matches("env", "prod", [("env", "prod")])
    assert not matches("env", "prod", [("env", "test")])
    assert not matches("env", "prod", [("env", "")])
    assert matches("env", "", [("env", "")])
    assert not matches("Env", "prod", [("env", None)])  # keys are case-sensitive
