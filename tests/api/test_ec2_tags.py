"""CreateTags / DeleteTags / DescribeTags through boto3 (client and resources)
and the aws CLI: instance tags are the server's name and metadata (seen by
``openstack server show``), image and key pair tags are the project's own,
IDs of several kinds in one call, AWS's limits, every error code, another
project's resources and DryRun."""

from __future__ import annotations

import json

import pytest

from tests.conftest import unique
from tests.support.compute_api import delete_all, wait_for
from tests.support.ec2 import Project, aws, error, new_image

PREFIX = unique("ec2-tags")

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.fixture(scope="module")
def servers(demo, other, image):
    """One ACTIVE server in each project: {project id: (server uuid, instance id)}."""
    made: dict[str, tuple[str, str]] = {}
    for project in (demo, other):
        name = f"{PREFIX}-{project.id[:6]}"
        sid = project.compute.ok("POST", "/servers", {"server": {
            "name": name, "imageRef": image, "flavorRef": "1",
            "metadata": {"role": "web"}}}, status=202)["server"]["id"]
        wait_for(project.compute, sid, "ACTIVE")
        (inst,) = [i for r in project.ec2.describe_instances(
            Filters=[{"Name": "tag:Name", "Values": [name]}])["Reservations"]
            for i in r["Instances"]]
        made[project.id] = (sid, inst["InstanceId"])
    yield made
    for project in (demo, other):
        delete_all(project.compute, [made[project.id][0]])


def ami_of(project: Project, name: str) -> str:
    (image,) = project.ec2.describe_images(
        Filters=[{"Name": "name", "Values": [name]}])["Images"]
    return image["ImageId"]


def tags_of(project: Project, resource_id: str) -> dict[str, str]:
    found = project.ec2.describe_tags(
        Filters=[{"Name": "resource-id", "Values": [resource_id]}])["Tags"]
    return {t["Key"]: t["Value"] for t in found}


# ---- instances: name and metadata ---------------------------------------------------

def test_instance_tags_are_the_server_name_and_metadata(server, demo, servers, endpoint,
                                                        cli):
    sid, iid = servers[demo.id]
    assert tags_of(demo, iid) == {"Name": f"{PREFIX}-{demo.id[:6]}", "role": "web"}
    instance = demo.resource(endpoint).Instance(iid)
    made = instance.create_tags(Tags=[{"Key": "Name", "Value": "renamed-by-ec2"},
                                      {"Key": "env", "Value": "prod"}])
    assert {(t.key, t.value) for t in made} == {("Name", "renamed-by-ec2"), ("env", "prod")}
    demo.ec2.create_tags(Resources=[iid], Tags=[{"Key": "empty"}])  # no Value: ""
    shown = cli.json("demo", "server", "show", sid)
    assert shown["name"] == "renamed-by-ec2"
    props = shown["properties"]
    if isinstance(props, str):  # older clients print "key='value', …"
        assert "env='prod'" in props and "role='web'" in props
    else:
        assert props == {"env": "prod", "role": "web", "empty": ""}
    instance.reload()
    assert {t["Key"]: t["Value"] for t in instance.tags} == {
        "Name": "renamed-by-ec2", "env": "prod", "role": "web", "empty": ""}
    # Metadata set through the compute API is an EC2 tag at once.
    demo.compute.ok("POST", f"/servers/{sid}/metadata", {"metadata": {"team": "blue"}})
    assert tags_of(demo, iid)["team"] == "blue"
    (tag,) = demo.ec2.describe_tags(Filters=[
        {"Name": "resource-id", "Values": [iid]}, {"Name": "key", "Values": ["team"]}])["Tags"]
    assert tag == {"ResourceId": iid, "ResourceType": "instance", "Key": "team",
                   "Value": "blue"}

    # DeleteTags: a value deletes only when it matches; no value, whatever it is.
    demo.ec2.delete_tags(Resources=[iid], Tags=[{"Key": "env", "Value": "test"}])
    assert tags_of(demo, iid)["env"] == "prod"
    demo.ec2.delete_tags(Resources=[iid], Tags=[{"Key": "env", "Value": "prod"},
                                                {"Key": "team"}, {"Key": "absent"}])
    assert tags_of(demo, iid) == {"Name": "renamed-by-ec2", "role": "web", "empty": ""}
    assert demo.compute.ok("GET", f"/servers/{sid}/metadata")["metadata"] == {
        "role": "web", "empty": ""}
    # Without Tags, every tag goes, Name too (the server is left unnamed).
    instance.delete_tags()
    assert tags_of(demo, iid) == {}
    assert demo.compute.ok("GET", f"/servers/{sid}")["server"]["name"] == ""
    demo.ec2.create_tags(Resources=[iid], Tags=[{"Key": "Name",
                                                 "Value": f"{PREFIX}-{demo.id[:6]}"}])
    assert demo.compute.ok("GET", f"/servers/{sid}")["server"]["name"] == \
        f"{PREFIX}-{demo.id[:6]}"


# ---- images: the project's own tags ---------------------------------------------------

def test_image_tags_belong_to_the_project_that_set_them(server, demo, other, endpoint):
    name = unique("tagged-ami")
    image_id = new_image(server, demo.session, name)
    ami = ami_of(demo, name)
    demo.resource(endpoint).Image(ami).create_tags(Tags=[{"Key": "stage", "Value": "gold"}])
    (image,) = demo.ec2.describe_images(ImageIds=[ami])["Images"]
    assert image["Tags"] == [{"Key": "stage", "Value": "gold"}]
    for flt in ({"Name": "tag:stage", "Values": ["gold"]}, {"Name": "tag-key",
                                                           "Values": ["stage"]},
                {"Name": "tag-value", "Values": ["go*"]}):
        assert [i["ImageId"] for i in demo.ec2.describe_images(
            Owners=["self"], Filters=[flt])["Images"]] == [ami], flt
    assert demo.ec2.describe_images(Owners=["self"], Filters=[
        {"Name": "tag:stage", "Values": ["silver"]}])["Images"] == []

    # Another project cannot tag what it cannot see; once the AMI is shared with
    # it, it tags it for itself, and neither sees the other's tags.
    assert error(other.ec2.create_tags, Resources=[ami], Tags=[{"Key": "k", "Value": "v"}]) \
        == ("InvalidAMIID.NotFound", 400)
    demo.ec2.modify_image_attribute(ImageId=ami, LaunchPermission={
        "Add": [{"UserId": other.id}]})
    other.ec2.create_tags(Resources=[ami], Tags=[{"Key": "stage", "Value": "trial"}])
    assert other.ec2.describe_images(ImageIds=[ami])["Images"][0]["Tags"] == [
        {"Key": "stage", "Value": "trial"}]
    assert demo.ec2.describe_images(ImageIds=[ami])["Images"][0]["Tags"] == [
        {"Key": "stage", "Value": "gold"}]
    assert tags_of(other, ami) == {"stage": "trial"}

    # Deregistering drops every project's tags with the image.
    demo.ec2.deregister_image(ImageId=ami)
    assert tags_of(demo, ami) == {} and tags_of(other, ami) == {}
    assert demo.session.get(f"{server.url}/image/v2/images/{image_id}",
                            raise_exc=False).status_code == 404


# ---- key pairs ---------------------------------------------------------------------------

def test_key_pair_tags(demo, other):
    name = unique("tag-key")
    made = demo.ec2.create_key_pair(KeyName=name, TagSpecifications=[{
        "ResourceType": "key-pair", "Tags": [{"Key": "owner", "Value": "ops"}]}])
    key_id = made["KeyPairId"]
    assert made["Tags"] == [{"Key": "owner", "Value": "ops"}]
    try:
        demo.ec2.create_tags(Resources=[key_id], Tags=[{"Key": "tier", "Value": "1"}])
        (key,) = demo.ec2.describe_key_pairs(KeyNames=[name])["KeyPairs"]
        assert key["Tags"] == [{"Key": "owner", "Value": "ops"}, {"Key": "tier", "Value": "1"}]
        assert [k["KeyName"] for k in demo.ec2.describe_key_pairs(Filters=[
            {"Name": "tag:owner", "Values": ["ops"]}])["KeyPairs"]] == [name]
        found = demo.ec2.describe_tags(Filters=[
            {"Name": "resource-type", "Values": ["key-pair"]},
            {"Name": "resource-id", "Values": [key_id]}])["Tags"]
        assert {(t["ResourceType"], t["Key"]) for t in found} == {("key-pair", "owner"),
                                                                  ("key-pair", "tier")}
        assert error(other.ec2.create_tags, Resources=[key_id],
                     Tags=[{"Key": "k", "Value": "v"}]) == ("InvalidKeyPair.NotFound", 400)
        assert error(demo.ec2.create_key_pair, KeyName=unique("tag-key"), TagSpecifications=[{
            "ResourceType": "instance", "Tags": [{"Key": "a", "Value": "b"}]}]) == \
            ("InvalidParameterValue", 400)
    finally:
        demo.ec2.delete_key_pair(KeyName=name)
    assert tags_of(demo, key_id) == {}


# ---- several kinds at once, DescribeTags, the aws CLI -----------------------------------

def test_mixed_kinds_filters_paging_and_the_cli(server, demo, servers):
    _, iid = servers[demo.id]
    name = unique("cli-tag")
    new_image(server, demo.session, name)
    ami = ami_of(demo, name)
    marker = unique("batch")
    aws(server, "ec2", "create-tags", "--resources", iid, ami,
        "--tags", f"Key={marker},Value=one", f"Key={marker}-2,Value=two")
    listed = json.loads(aws(server, "ec2", "describe-tags", "--filters",
                            f"Name=key,Values={marker}*", "--query",
                            "Tags[].[ResourceId,ResourceType,Key,Value]").stdout)
    assert sorted(map(tuple, listed)) == sorted([
        (iid, "instance", marker, "one"), (iid, "instance", f"{marker}-2", "two"),
        (ami, "image", marker, "one"), (ami, "image", f"{marker}-2", "two")])
    only_images = json.loads(aws(server, "ec2", "describe-tags", "--filters",
                                 f"Name=key,Values={marker}*",
                                 "Name=resource-type,Values=image",
                                 "--query", "Tags[].ResourceId").stdout)
    assert only_images == [ami, ami]
    assert [t["ResourceId"] for t in demo.ec2.describe_tags(Filters=[
        {"Name": "value", "Values": ["two"]}, {"Name": "key", "Values": [f"{marker}*"]}])[
        "Tags"]] == sorted([iid, ami])
    assert [t["Key"] for t in demo.ec2.describe_tags(Filters=[
        {"Name": f"tag:{marker}", "Values": ["one"]}])["Tags"]] == [marker, marker]

    many = [{"Key": f"{marker}-k{i:02d}", "Value": str(i)} for i in range(12)]
    demo.ec2.create_tags(Resources=[ami], Tags=many)
    pages = list(demo.ec2.get_paginator("describe_tags").paginate(
        Filters=[{"Name": "resource-id", "Values": [ami]}],
        PaginationConfig={"PageSize": 5}))
    assert [len(p["Tags"]) for p in pages] == [5, 5, 4]
    assert "NextToken" not in pages[-1]
    keys = [t["Key"] for p in pages for t in p["Tags"]]
    assert keys == sorted(keys) and len(set(keys)) == 14
    aws(server, "ec2", "delete-tags", "--resources", iid, ami, "--tags", f"Key={marker}",
        f"Key={marker}-2,Value=not-two")
    assert {t["Key"] for t in demo.ec2.describe_tags(Filters=[
        {"Name": "key", "Values": [f"{marker}", f"{marker}-2"]}])["Tags"]} == {f"{marker}-2"}


# ---- limits and every error ---------------------------------------------------------------

def test_limits_and_all_or_nothing(server, demo, servers):
    _, iid = servers[demo.id]
    name = unique("limits")
    new_image(server, demo.session, name)
    ami = ami_of(demo, name)
    # One bad ID among good ones: nothing is tagged.
    assert error(demo.ec2.create_tags, Resources=[iid, ami, "ami-0123456789abcdef0"],
                 Tags=[{"Key": "atomic", "Value": "x"}]) == ("InvalidAMIID.NotFound", 400)
    assert "atomic" not in tags_of(demo, iid) and "atomic" not in tags_of(demo, ami)
    # 50 tags per resource, counting those it has.
    assert error(demo.ec2.create_tags, Resources=[ami],
                 Tags=[{"Key": f"t{i}", "Value": ""} for i in range(51)]) == \
        ("TagLimitExceeded", 400)
    demo.ec2.create_tags(Resources=[ami], Tags=[{"Key": f"t{i}", "Value": ""}
                                                for i in range(45)])
    assert error(demo.ec2.create_tags, Resources=[iid, ami],
                 Tags=[{"Key": f"u{i}", "Value": ""} for i in range(6)]) == \
        ("TagLimitExceeded", 400)
    assert not any(k.startswith("u") for k in tags_of(demo, iid))
    demo.ec2.create_tags(Resources=[ami], Tags=[{"Key": f"t{i}", "Value": "again"}
                                                for i in range(50)])
    assert len(tags_of(demo, ami)) == 50
    for tags in ([{"Key": "aws:owner", "Value": "me"}], [{"Key": "k" * 129, "Value": ""}],
                 [{"Key": "k", "Value": "v" * 257}], [{"Key": "", "Value": "v"}]):
        assert error(demo.ec2.create_tags, Resources=[iid], Tags=tags) == \
            ("InvalidParameterValue", 400), tags[0]["Key"][:10]
    assert error(demo.ec2.delete_tags, Resources=[iid], Tags=[{"Key": "aws:x"}]) == \
        ("InvalidParameterValue", 400)
    # A 128-character key and a 256-character value are fine (on an image: a
    # server's metadata values stop at 255).
    demo.ec2.delete_tags(Resources=[ami])
    demo.ec2.create_tags(Resources=[ami], Tags=[{"Key": "k" * 128, "Value": "v" * 256}])
    assert tags_of(demo, ami) == {"k" * 128: "v" * 256}
    assert error(demo.ec2.create_tags, Resources=[iid], Tags=[{"Key": "k",
                                                               "Value": "v" * 256}]) == \
        ("InvalidParameterValue", 400)


def test_errors(demo, other, servers):
    _, iid = servers[demo.id]
    _, other_iid = servers[other.id]
    ok = [{"Key": "k", "Value": "v"}]
    for call in (demo.ec2.create_tags, demo.ec2.delete_tags):
        extra = {"Tags": ok} if call == demo.ec2.create_tags else {}
        for resource, code in (
                ("r-0123456789abcdef0", "InvalidID"), ("bogus", "InvalidID"),
                ("eipassoc-0123456789abcdef0", "InvalidID"),
                ("i-xyz", "InvalidInstanceID.Malformed"), ("ami-12", "InvalidAMIID.Malformed"),
                ("sg-zz", "InvalidGroupId.Malformed"),
                ("i-0123456789abcdef0", "InvalidInstanceID.NotFound"),
                (other_iid, "InvalidInstanceID.NotFound"),
                ("ami-0123456789abcdef0", "InvalidAMIID.NotFound"),
                ("sg-0123456789abcdef0", "InvalidGroup.NotFound"),
                ("key-0123456789abcdef0", "InvalidKeyPair.NotFound"),
                ("eipalloc-0123456789abcdef0", "InvalidAllocationID.NotFound"),
                ("vol-0123456789abcdef0", "InvalidVolume.NotFound"),
                ("snap-0123456789abcdef0", "InvalidSnapshot.NotFound")):
            assert error(call, Resources=[iid, resource], **extra) == (code, 400), \
                (call, resource)
    assert error(demo.ec2.create_tags, Resources=[], Tags=ok) == ("MissingParameter", 400)
    assert error(demo.ec2.create_tags, Resources=[iid], Tags=[]) == ("MissingParameter", 400)
    assert error(demo.ec2.describe_tags, MaxResults=4) == ("InvalidParameterValue", 400)
    assert error(demo.ec2.describe_tags, MaxResults=1001) == ("InvalidParameterValue", 400)
    assert error(demo.ec2.describe_tags, NextToken="nope") == ("InvalidPaginationToken", 400)
    assert error(demo.ec2.describe_tags, Filters=[{"Name": "colour", "Values": ["x"]}]) == \
        ("InvalidParameterValue", 400)
    # DryRun: the permission check only; nothing changes.
    assert error(demo.ec2.create_tags, Resources=[iid], Tags=[{"Key": "dry", "Value": "x"}],
                 DryRun=True) == ("DryRunOperation", 412)
    assert "dry" not in tags_of(demo, iid)
    assert error(demo.ec2.delete_tags, Resources=[iid], DryRun=True) == \
        ("DryRunOperation", 412)
    assert "Name" in tags_of(demo, iid)
    assert error(demo.ec2.describe_tags, DryRun=True) == ("DryRunOperation", 412)
    # Another project's tags are not listed; its instance keeps its tags.
    assert tags_of(demo, other_iid) == {}
    assert tags_of(other, other_iid)["role"] == "web"


# ---- security groups (kept in the tag table) ----------------------------------------------

def test_security_group_tags(demo, other):
    group = demo.ec2.create_security_group(GroupName=unique("tag-sg"),
                                           Description="tagged")["GroupId"]
    try:
        demo.ec2.create_tags(Resources=[group], Tags=[{"Key": "team", "Value": "red"}])
        found = demo.ec2.describe_tags(Filters=[{"Name": "key", "Values": ["team"]}, {
            "Name": "resource-type", "Values": ["security-group"]}])["Tags"]
        assert [(t["ResourceId"], t["ResourceType"]) for t in found] == [
            (group, "security-group")]
        (shown,) = demo.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
        assert shown["Tags"] == [{"Key": "team", "Value": "red"}]
        assert error(other.ec2.create_tags, Resources=[group], Tags=[
            {"Key": "k", "Value": "v"}]) == ("InvalidGroup.NotFound", 400)
    finally:
        demo.ec2.delete_security_group(GroupId=group)
    assert tags_of(demo, group) == {}
