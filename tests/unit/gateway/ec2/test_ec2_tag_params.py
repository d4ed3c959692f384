"""gateway/ec2/handlers/tags.py and the image name rules: how Tag.N, filters
and AMI names are read, without a server."""

from __future__ import annotations

import pytest

from core.tagging.rules import TagRecord
from gateway.ec2.errors import Ec2Error
from gateway.ec2.handlers.image_sources import check_name, disk_format_of
from gateway.ec2.handlers.tags import FILTERS, _wanted_types, order_key, tag_pairs


def test_tag_pairs():
    items = [{"Key": "a", "Value": "1"}, {"Key": "b"}]
    assert tag_pairs(items, need_value=True) == [("a", "1"), ("b", "")]
    assert tag_pairs(items, need_value=False) == [("a", "1"), ("b", None)]
    with pytest.raises(Ec2Error) as info:
        tag_pairs([{"Value": "x"}], need_value=True)
    assert info.value.code == "InvalidParameterValue"


def test_resource_type_filter_narrows_the_reading():
    assert _wanted_types(None) is None
    assert _wanted_types([{"Name": "key", "Values": ["x"]}]) is None
    assert _wanted_types([{"Name": "resource-type", "Values": ["image", "natgateway"]}]) == {"image"}
    assert _wanted_types([{"Name": "resource-type", "Values": ["image", "instance"]},
                          {"Name": "resource-type", "Values": ["instance"]}]) == {"instance"}
    assert _wanted_types([{"Name": "resource-type", "Values": ["i*"]}]) is None


def test_describe_tags_filters_and_order():
    a = TagRecord("ami-1", "image", "env", "prod")
    b = TagRecord("i-1", "instance", "Name", "web")
    assert FILTERS.apply([a, b], [{"Name": "tag:env", "Values": ["pr*"]}]) == [a]
    assert FILTERS.apply([a, b], [{"Name": "value", "Values": ["web"]}]) == [b]
    assert order_key(a) < order_key(b)
    assert order_key(TagRecord("i-1", "instance", "a", "")) < \
        order_key(TagRecord("i-10", "instance", "a", ""))


@pytest.mark.parametrize("name", ["abc", "My image (v1) [prod] 2024.01/x-y'z@w_v",
                                  "n" * 128])
def test_good_ami_names(name):
    assert check_name(name) == name


@pytest.mark.parametrize(("name", "code"), [
    (None, "MissingParameter"), ("", "MissingParameter"), ("ab", "InvalidAMIName.Malformed"),
    ("n" * 129, "InvalidAMIName.Malformed"), ("bad*name", "InvalidAMIName.Malformed"),
    ("tab\tname", "InvalidAMIName.Malformed"), ("ünïcode", "InvalidAMIName.Malformed")])
def test_bad_ami_names(name, code):
    with pytest.raises(Ec2Error) as info:
        check_name(name)
    assert info.value.code == code


def test_disk_format_from_the_location():
    assert disk_format_of("http://h/a/disk.QCOW2?x=1") == "qcow2"
    assert disk_format_of("https://h/disk.vmdk") == "vmdk"
    assert disk_format_of("http://h/manifest") == "raw"
