"""gateway/ec2/protocol.py: Query parameters typed by botocore's EC2 model;
every malformed request is a 400-class EC2 error, never an exception."""

from __future__ import annotations

import datetime
import random
import string

import pytest
from botocore.serialize import create_serializer

from gateway.ec2 import service_model
from gateway.ec2.errors import Ec2Error
from gateway.ec2.protocol import MAX_PARAMETERS, HttpRequest, QueryProtocol

MODEL = service_model()
PROTOCOL = QueryProtocol(MODEL)


def wire(action: str, params: dict) -> list[tuple[str, str]]:
    """What botocore sends for ``params``: its own EC2 serializer."""
    body = create_serializer("ec2").serialize_to_request(
        params, MODEL.operation_model(action))["body"]
    return [(k, str(v)) for k, v in body.items()]


def parse(pairs) -> dict:
    return PROTOCOL.parse(pairs).params


def error_of(pairs) -> Ec2Error:
    with pytest.raises(Ec2Error) as info:
        PROTOCOL.parse(pairs)
    return info.value


@pytest.mark.parametrize(("action", "params"), [
    ("DescribeKeyPairs", {"KeyNames": ["a", "b c"], "KeyPairIds": ["key-0123456789abcdef0"],
                          "IncludePublicKey": True, "DryRun": False,
                          "Filters": [{"Name": "key-name", "Values": ["a*", "b?"]},
                                      {"Name": "tag:Env", "Values": ["prod"]}]}),
    ("CreateKeyPair", {"KeyName": "k", "KeyType": "rsa", "TagSpecifications": [
        {"ResourceType": "key-pair", "Tags": [{"Key": "Name", "Value": "v"},
                                              {"Key": "e", "Value": ""}]}]}),
    ("ImportKeyPair", {"KeyName": "k", "PublicKeyMaterial": b"ssh-ed25519 AAAA x"}),
    ("DescribeInstanceTypes", {"InstanceTypes": ["t3.micro", "m1.tiny"], "MaxResults": 5,
                               "NextToken": "abc"}),
    ("DescribeAccountAttributes", {"AttributeNames": ["default-vpc", "supported-platforms"]}),
    ("RunInstances", {"ImageId": "ami-1", "MinCount": 1, "MaxCount": 3,
                      "SecurityGroupIds": ["sg-1"], "UserData": "aGk=",
                      "Placement": {"AvailabilityZone": "nova"},
                      "BlockDeviceMappings": [{"DeviceName": "/dev/sda1",
                                               "Ebs": {"VolumeSize": 10,
                                                       "DeleteOnTermination": True}}],
                      "ClientToken": "tok"}),
    ("DescribeSpotPriceHistory", {"StartTime": datetime.datetime(2024, 1, 2, 3, 4, 5,
                                                                 tzinfo=datetime.UTC)}),
])
def test_what_botocore_sends_parses_back_to_the_same_values(action, params):
    assert parse([("Action", action), ("Version", "2016-11-15"), *wire(action, params)]) \
        == params


def test_wire_names_follow_the_model():
    params = parse([("Action", "DescribeAccountAttributes"), ("AttributeName.1", "default-vpc"),
                    ("DryRun", "true")])
    assert params == {"AttributeNames": ["default-vpc"], "DryRun": True}
    # CreateSecurityGroup's Description travels as GroupDescription (locationName).
    params = parse([("Action", "CreateSecurityGroup"), ("GroupName", "g"),
                    ("GroupDescription", "d")])
    assert params == {"GroupName": "g", "Description": "d"}


def test_list_order_is_by_index_not_by_arrival():
    params = parse([("Action", "DescribeKeyPairs"), ("KeyName.2", "b"), ("KeyName.10", "c"),
                    ("KeyName.1", "a")])
    assert params["KeyNames"] == ["a", "b", "c"]


def test_booleans_ignore_case_and_integers_are_typed():
    params = parse([("Action", "DescribeInstanceTypes"), ("DryRun", "TRUE"),
                    ("MaxResults", "100")])
    assert params == {"DryRun": True, "MaxResults": 100}


def test_floats_are_ascii_numbers():
    base = [("Action", "CreateCapacityReservationFleet"), ("InstanceMatchCriteria", "open"),
            ("TotalTargetCapacity", "1")]
    for text, value in (("1.5", 1.5), ("2", 2.0), (".5", 0.5), ("1e2", 100.0), ("-0.5", -0.5)):
        params = parse([*base, ("InstanceTypeSpecification.1.Weight", text)])
        assert params["InstanceTypeSpecifications"] == [{"Weight": value}]


def test_version_defaults_and_is_echoed():
    assert PROTOCOL.parse([("Action", "DescribeRegions")]).version == "2016-11-15"
    assert PROTOCOL.parse([("Action", "DescribeRegions"),
                           ("Version", "2014-10-01")]).version == "2014-10-01"


def test_authentication_parameters_are_not_call_parameters():
    params = parse([("Action", "DescribeRegions"), ("X-Amz-Signature", "x"),
                    ("X-Amz-Credential", "a/b"), ("AWSAccessKeyId", "a"),
                    ("SignatureVersion", "2"), ("Timestamp", "t")])
    assert params == {}


@pytest.mark.parametrize(("pairs", "code"), [
    ([("Version", "2016-11-15")], "MissingAction"),
    ([("Action", "")], "MissingAction"),
    ([("Action", "DescribeUnicorns")], "InvalidAction"),
    ([("Action", "describeregions")], "InvalidAction"),
    ([("Action", "DescribeRegions"), ("Version", "<x/>")], "NoSuchVersion"),
    ([("Action", "DescribeRegions"), ("Bogus", "1")], "UnknownParameter"),
    ([("Action", "DescribeRegions"), ("regionName.1", "x")], "UnknownParameter"),
    ([("Action", "DescribeRegions"), ("RegionName", "x")], "UnknownParameter"),
    ([("Action", "DescribeRegions"), ("RegionName.0", "x")], "UnknownParameter"),
    ([("Action", "DescribeRegions"), ("RegionName.01", "x")], "UnknownParameter"),
    ([("Action", "DescribeRegions"), ("RegionName.-1", "x")], "UnknownParameter"),
    ([("Action", "DescribeRegions"), ("RegionName.1.x", "x")], "UnknownParameter"),
    ([("Action", "DescribeRegions"), ("RegionName.999999999", "x")], "UnknownParameter"),
    ([("Action", "DescribeRegions"), ("RegionName.¹", "x")], "UnknownParameter"),
    ([("Action", "DescribeRegions"), ("RegionName.٥", "x")], "UnknownParameter"),
    ([("Action", "DescribeRegions"), ("Filter.¹.Name", "x")], "UnknownParameter"),
    ([("Action", "DescribeInstances"), ("InstanceId.²", "i-1")], "UnknownParameter"),
    ([("Action", "DescribeInstances"), ("InstanceId.1_0", "i-1")], "UnknownParameter"),
    ([("Action", "DescribeRegions"), ("Filter.1", "x")], "UnknownParameter"),
    ([("Action", "DescribeRegions"), ("Filter.1.Nope", "x")], "UnknownParameter"),
    ([("Action", "DescribeRegions"), ("Filter..Name", "x")], "UnknownParameter"),
    ([("Action", "DescribeRegions"), ("DryRun", "yes")], "InvalidParameterValue"),
    ([("Action", "DescribeRegions"), ("DryRun", "true"), ("DryRun", "false")],
     "InvalidParameterValue"),
    ([("Action", "DescribeInstanceTypes"), ("MaxResults", "4")], "InvalidParameterValue"),
    ([("Action", "DescribeInstanceTypes"), ("MaxResults", "101")], "InvalidParameterValue"),
    ([("Action", "DescribeInstanceTypes"), ("MaxResults", "1e3")], "InvalidParameterValue"),
    ([("Action", "DescribeInstanceTypes"), ("MaxResults", "")], "InvalidParameterValue"),
    ([("Action", "DescribeInstanceTypes"), ("MaxResults", "9" * 40)], "InvalidParameterValue"),
    ([("Action", "DescribeInstanceTypes"), ("MaxResults", "9" * 5000)], "InvalidParameterValue"),
    ([("Action", "DescribeInstanceTypes"), ("MaxResults", "٥")], "InvalidParameterValue"),
    ([("Action", "DescribeInstanceTypes"), ("MaxResults", "²0")], "InvalidParameterValue"),
    ([("Action", "DescribeInstanceTypes"), ("MaxResults", "1_0")], "InvalidParameterValue"),
    ([("Action", "DescribeInstanceTypes"), ("MaxResults", " 10")], "InvalidParameterValue"),
    ([("Action", "DescribeInstances"), ("MaxResults", "٥")], "InvalidParameterValue"),
    ([("Action", "DescribeRegions"), ("Version", "٢٠١٦-١١-١٥")], "NoSuchVersion"),
    ([("Action", "DescribeSpotPriceHistory"), ("StartTime", "¹")], "InvalidParameterValue"),
    ([("Action", "DescribeSpotPriceHistory"), ("StartTime", "٥")], "InvalidParameterValue"),
    ([("Action", "DescribeSpotPriceHistory"), ("StartTime", "9999-12-31T23:59:59-01:00")],
     "InvalidParameterValue"),
    ([("Action", "CreateCapacityReservationFleet"), ("InstanceMatchCriteria", "open"),
      ("TotalTargetCapacity", "1"), ("InstanceTypeSpecification.1.Weight", "٥")],
     "InvalidParameterValue"),
    ([("Action", "CreateCapacityReservationFleet"), ("InstanceMatchCriteria", "open"),
      ("TotalTargetCapacity", "1"), ("InstanceTypeSpecification.1.Weight", "1_0")],
     "InvalidParameterValue"),
    ([("Action", "ImportKeyPair"), ("KeyName", "k"), ("PublicKeyMaterial", "not base64!")],
     "InvalidParameterValue"),
    ([("Action", "DescribeSpotPriceHistory"), ("StartTime", "yesterday")],
     "InvalidParameterValue"),
    ([("Action", "CreateKeyPair")], "MissingParameter"),
    ([("Action", "ImportKeyPair"), ("KeyName", "k")], "MissingParameter"),
])
def test_malformed_calls_are_client_errors(pairs, code):
    error = error_of(pairs)
    assert (error.code, error.status) == (code, 400)


def test_missing_nested_parameter_names_its_wire_path():
    error = error_of([("Action", "CreateTags"), ("ResourceId.1", "i-1")])
    assert error.code == "MissingParameter"
    assert "Tag" in error.message


def test_list_bounds_from_the_model():
    pairs = [("Action", "DescribeInstanceTypes")]
    pairs += [(f"InstanceType.{i}", "t3.micro") for i in range(1, 102)]
    assert error_of(pairs).code == "InvalidParameterValue"


def test_fifty_kilobytes_of_junk_parameters_is_a_400():
    rng = random.Random(5)
    junk = []
    while sum(len(k) + len(v) + 2 for k, v in junk) < 50_000:
        key = "".join(rng.choices(string.ascii_letters + ".0123456789", k=rng.randint(1, 40)))
        junk.append((key, "".join(rng.choices(string.printable, k=rng.randint(0, 80)))))
    error = error_of([("Action", "DescribeKeyPairs"), *junk])
    assert error.status == 400
    assert error.code in ("UnknownParameter", "InvalidParameterValue")


def test_junk_shaped_like_real_names_is_a_400():
    pairs = [("Action", "DescribeKeyPairs")]
    pairs += [(f"Filter.{i}.Value.{j}", "x" * 20) for i in range(1, 40) for j in range(1, 60)]
    pairs.append(("Filter.1.Value.1.Extra", "x"))
    assert error_of(pairs).code == "UnknownParameter"


def test_a_long_unknown_name_is_shortened_in_the_message():
    error = error_of([("Action", "DescribeRegions"), ("X" * 5000, "1")])
    assert len(error.message) < 200


# ---- HttpRequest.parameters --------------------------------------------------

def http(method="POST", query="", body=b"", content_type="application/x-www-form-urlencoded"):
    return HttpRequest(method, "h", "/ec2/", query, {"content-type": content_type}, body)


def test_parameters_come_from_query_and_form_body():
    req = http(query="Action=DescribeRegions", body=b"RegionName.1=a%20b&Version=2016-11-15")
    assert req.parameters() == [("Action", "DescribeRegions"), ("RegionName.1", "a b"),
                                ("Version", "2016-11-15")]


def test_a_body_that_is_not_a_form_is_not_read():
    assert http(body=b"Action=X", content_type="application/json").parameters() == []
    assert http(method="GET", body=b"Action=X").parameters() == []


@pytest.mark.parametrize("body", [b"Action=\xff\xfe", b"Action=%ff%fe"])
def test_parameters_that_are_not_utf8_are_a_400(body):
    with pytest.raises(Ec2Error) as info:
        http(body=body).parameters()
    assert info.value.code == "InvalidParameterValue"


def test_too_many_parameters_is_a_400():
    body = "&".join(f"KeyName.{i}=k" for i in range(MAX_PARAMETERS + 1)).encode()
    with pytest.raises(Ec2Error) as info:
        http(body=body).parameters()
    assert info.value.code == "InvalidParameterValue"
