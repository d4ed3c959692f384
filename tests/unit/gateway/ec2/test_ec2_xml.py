"""gateway/ec2/xml.py: answers rendered from the model's output shapes, read
back with botocore's own EC2 parser (what boto3 and the aws CLI do)."""

from __future__ import annotations

import datetime
from xml.etree import ElementTree

import pytest
from botocore.parsers import create_parser

from gateway.ec2 import service_model
from gateway.ec2.xml import XmlRenderer, escape, iso8601

MODEL = service_model()
RENDERER = XmlRenderer(MODEL)
WHEN = datetime.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC)
WHEN_MS = WHEN.replace(microsecond=678000)  # what survives the wire


def render(action: str, result, version: str = "2016-11-15") -> bytes:
    return RENDERER.response(MODEL.operation_model(action), result, "req-1", version)


def parsed(action: str, result) -> dict:
    body = render(action, result)
    out = create_parser("ec2").parse({"body": body, "headers": {}, "status_code": 200},
                                     MODEL.operation_model(action).output_shape)
    meta = out.pop("ResponseMetadata")
    assert meta["RequestId"] == "req-1"
    return out


@pytest.mark.parametrize(("action", "result"), [
    ("DescribeKeyPairs", {"KeyPairs": [
        {"KeyPairId": "key-0123456789abcdef0", "KeyName": "a <&> b", "KeyType": "rsa",
         "KeyFingerprint": "aa:bb", "Tags": [{"Key": "k", "Value": "v"}], "CreateTime": WHEN_MS,
         "PublicKey": "ssh-rsa AAAA"}]}),
    ("DescribeKeyPairs", {"KeyPairs": []}),
    ("CreateKeyPair", {"KeyPairId": "key-1", "KeyName": "k", "KeyFingerprint": "f",
                       "KeyMaterial": "-----BEGIN RSA PRIVATE KEY-----\nMII\n-----END", "Tags": []}),
    ("DeleteKeyPair", {"Return": True, "KeyPairId": "key-1"}),
    ("DescribeInstanceTypes", {"InstanceTypes": [
        {"InstanceType": "t3.micro", "CurrentGeneration": True, "BareMetal": False,
         "VCpuInfo": {"DefaultVCpus": 2, "DefaultCores": 1, "DefaultThreadsPerCore": 2},
         "MemoryInfo": {"SizeInMiB": 1024},
         "InstanceStorageInfo": {"TotalSizeInGB": 8, "Disks": [
             {"SizeInGB": 8, "Count": 1, "Type": "ssd"}]},
         "ProcessorInfo": {"SupportedArchitectures": ["x86_64"],
                           "SustainedClockSpeedInGhz": 2.5},
         "SupportedUsageClasses": ["on-demand"]}], "NextToken": "tok"}),
    ("DescribeAvailabilityZones", {"AvailabilityZones": [
        {"ZoneName": "nova", "State": "available", "RegionName": "RegionOne",
         "Messages": [{"Message": "fine"}]}]}),
    ("DescribeAccountAttributes", {"AccountAttributes": [
        {"AttributeName": "supported-platforms",
         "AttributeValues": [{"AttributeValue": "VPC"}]}]}),
])
def test_what_is_rendered_is_what_botocore_reads(action, result):
    assert parsed(action, result) == result


def test_none_is_left_out_and_empty_lists_are_empty_elements():
    body = render("DescribeKeyPairs", {"KeyPairs": [{"KeyName": "k", "PublicKey": None,
                                                      "Tags": []}]}).decode()
    assert "publicKey" not in body
    assert "<tagSet/>" in body
    assert parsed("DescribeKeyPairs", {"KeyPairs": [{"KeyName": "k", "PublicKey": None}]}) \
        == {"KeyPairs": [{"KeyName": "k"}]}


def test_envelope_names_the_action_and_the_requested_version():
    root = ElementTree.fromstring(render("DescribeRegions", {"Regions": []}, "2014-10-01"))
    assert root.tag == "{http://ec2.amazonaws.com/doc/2014-10-01/}DescribeRegionsResponse"
    assert root[0].tag.endswith("requestId") and root[0].text == "req-1"


def test_list_members_are_items_and_scalars_are_written_as_ec2_writes_them():
    body = render("DescribeKeyPairs", {"KeyPairs": [{"KeyName": "k", "CreateTime": WHEN}]})
    assert b"<keySet><item><keyName>k</keyName><createTime>2024-01-02T03:04:05.678Z" \
           b"</createTime></item></keySet>" in body
    body = render("DescribeInstanceTypes", {"InstanceTypes": [{"BareMetal": False,
                                                               "CurrentGeneration": True}]})
    assert b"<bareMetal>false</bareMetal><currentGeneration>true</currentGeneration>" in body


def test_actions_without_output_answer_return_true():
    for action, result in (("CreateTags", None), ("RebootInstances", {})):
        body = render(action, result)
        assert b"<return>true</return>" in body
        ElementTree.fromstring(body)


def test_an_output_of_only_return_defaults_to_true():
    assert list(MODEL.operation_model("CreateRoute").output_shape.members) == ["Return"]
    assert b"<return>true</return>" in render("CreateRoute", None)
    assert parsed("CreateRoute", None) == {"Return": True}
    assert parsed("CreateRoute", {"Return": False}) == {"Return": False}


def test_a_name_that_is_not_in_the_shape_is_a_programming_error():
    with pytest.raises(ValueError, match="not a member"):
        render("DescribeKeyPairs", {"KeyPair": []})


def test_escape_keeps_text_and_drops_what_xml_cannot_carry():
    assert escape("plain") == "plain"
    assert escape('a<b>&"c"\r') == "a&lt;b&gt;&amp;&quot;c&quot;&#13;"
    assert escape("bell\x07 nul\x00 ok\n\t") == "bell nul ok\n\t"
    body = render("DescribeKeyPairs", {"KeyPairs": [{"KeyName": "x\x01<y>\ud800"}]})
    assert parsed("DescribeKeyPairs", {"KeyPairs": [{"KeyName": "x\x01<y>"}]}) == \
        {"KeyPairs": [{"KeyName": "x<y>"}]}
    ElementTree.fromstring(body)


def test_timestamps_are_utc_with_milliseconds():
    assert iso8601(WHEN) == "2024-01-02T03:04:05.678Z"
    cet = datetime.timezone(datetime.timedelta(hours=1))
    assert iso8601(datetime.datetime(2024, 1, 1, 1, 0, tzinfo=cet)) == \
        "2024-01-01T00:00:00.000Z"
    assert iso8601(datetime.datetime(2024, 1, 1)) == "2024-01-01T00:00:00.000Z"


def test_instances_are_written_once_per_distinct_value():
    renderer = XmlRenderer(MODEL)
    op = MODEL.operation_model("DescribeInstances")

    def answer(*instances) -> bytes:
        return renderer.response(op, {"Reservations": [{"ReservationId": "r-1", "OwnerId": "1",
                                                        "Instances": list(instances)}]},
                                 "req-1", "2016-11-15")

    one = {"InstanceId": "i-1", "AmiLaunchIndex": 0, "EbsOptimized": False,
           "Tags": [{"Key": "Name", "Value": "a"}]}
    first = answer(one)
    assert answer(dict(one)) == first and len(renderer._written) == 1
    # types are told apart: 1 is not True, "0" is not 0
    assert b"<ebsOptimized>true</ebsOptimized>" in answer({**one, "EbsOptimized": True})
    assert b"<amiLaunchIndex>7</amiLaunchIndex>" in answer({**one, "AmiLaunchIndex": 7})
    # a datetime is written each time (JSON would not tell it from its text)
    timed = {**one, "LaunchTime": WHEN}
    assert b"2024-01-02T03:04:05.678Z" in answer(timed)
    assert len(renderer._written) == 3
