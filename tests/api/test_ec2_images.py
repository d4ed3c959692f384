"""AMIs over the image service through boto3 and the aws CLI: DescribeImages
(owners, executable-by, filters, paging, the ``image_available`` waiter),
DeregisterImage, and the launchPermission / description attributes, seen
from the owner's project and from another project's credential."""

from __future__ import annotations

import json
import os
import re

import boto3
import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.conftest import unique
from tests.support.compute_api import Api, delete_all, wait_for
from tests.support.ec2 import REGION, Project, aws, client, error, new_credential, new_image
from tests.support.file_server import Remote

AMI = re.compile(r"ami-[0-9a-f]{17}")

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.fixture(scope="module")
def admin(server, admin_session, identity_url, endpoint) -> Project:
    keys = new_credential(admin_session, identity_url)
    return Project(admin_session.get_project_id(),
                   Api(f"{server.url}/compute/v2.1", admin_session), client(endpoint, keys),
                   keys)


def ami_named(ec2, name: str) -> dict:
    (image,) = ec2.describe_images(Filters=[{"Name": "name", "Values": [name]}])["Images"]
    return image


# ---- DescribeImages ---------------------------------------------------------------

def test_an_uploaded_image_is_an_available_ami(server, demo):
    name = unique("waited")
    new_image(server, demo.session, name, data=None, architecture="arm64",
              description="from glance")
    pending = ami_named(demo.ec2, name)
    assert AMI.fullmatch(pending["ImageId"]) and pending["State"] == "pending"
    image_id = demo.session.get(f"{server.url}/image/v2/images?name={name}").json()[
        "images"][0]["id"]
    demo.session.put(f"{server.url}/image/v2/images/{image_id}/file", data=b"x" * 1000,
                     headers={"Content-Type": "application/octet-stream"})
    demo.ec2.get_waiter("image_available").wait(
        ImageIds=[pending["ImageId"]], WaiterConfig={"Delay": 1, "MaxAttempts": 20})
    (image,) = demo.ec2.describe_images(ImageIds=[pending["ImageId"]])["Images"]
    assert image["ImageId"] == pending["ImageId"] == ami_named(demo.ec2, name)["ImageId"]
    assert image["ImageId"] == demo.ec2.describe_images(
        ImageIds=[pending["ImageId"].upper().replace("AMI-", "ami-")])["Images"][0]["ImageId"]
    assert image["State"] == "available" and image["OwnerId"] == demo.account
    assert image["Name"] == name and image["Description"] == "from glance"
    assert image["Architecture"] == "arm64" and image["ImageType"] == "machine"
    assert image["Public"] is False and image["ImageLocation"] == f"{demo.account}/{name}"
    assert image["RootDeviceType"] == "instance-store"
    assert image["RootDeviceName"] == "/dev/sda1"
    assert image["VirtualizationType"] == "hvm" and image["Hypervisor"] == "xen"
    assert image["PlatformDetails"] == "Linux/UNIX" and image["BlockDeviceMappings"] == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", image["CreationDate"])


def test_owners_filters_and_paging(server, demo, admin):
    prefix = unique("paged")
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in names:
        new_image(server, demo.session, name)
    mine = demo.ec2.describe_images(Owners=["self"])["Images"]
    assert set(names) <= {i["Name"] for i in mine}
    assert {i["OwnerId"] for i in mine} == {demo.account}
    # An owner is named by its account id or by its project id.
    for owner in (demo.account, demo.id):
        assert {i["Name"] for i in demo.ec2.describe_images(Owners=[owner])["Images"]} == \
            {i["Name"] for i in mine}
    admins = [i for i in demo.ec2.describe_images()["Images"] if i["OwnerId"] == admin.account]
    assert admins  # the bootstrap image, public
    assert demo.ec2.describe_images(Owners=[admin.account])["Images"] == admins
    assert demo.ec2.describe_images(Owners=[admin.id])["Images"] == admins
    assert demo.ec2.describe_images(Owners=["000000000000"])["Images"] == []
    wild = [{"Name": "name", "Values": [f"{prefix}-*"]}]
    assert sorted(i["Name"] for i in demo.ec2.describe_images(Filters=wild)["Images"]) == names
    for flt, count in ((("state", "available"), 5), (("is-public", "false"), 5),
                       (("is-public", "true"), 0), (("owner-id", demo.account), 5),
                       (("owner-id", demo.id), 5), (("owner-id", admin.account), 0),
                       (("image-type", "machine"), 5), (("architecture", "x86_64"), 5),
                       (("architecture", "arm64"), 0), (("name", f"{prefix}-?"), 5),
                       (("state", "pending"), 0)):
        found = demo.ec2.describe_images(
            Filters=[*wild, {"Name": flt[0], "Values": [flt[1]]}])["Images"]
        assert len(found) == count, flt
    some = demo.ec2.describe_images(Filters=wild)["Images"][:2]
    ids = [i["ImageId"] for i in some]
    assert sorted(i["ImageId"] for i in demo.ec2.describe_images(
        Filters=[{"Name": "image-id", "Values": ids}])["Images"]) == sorted(ids)
    pages = list(demo.ec2.get_paginator("describe_images").paginate(
        Filters=wild, PaginationConfig={"PageSize": 2}))
    assert [len(p["Images"]) for p in pages] == [2, 2, 1]
    assert sorted(i["Name"] for p in pages for i in p["Images"]) == names
    assert "NextToken" not in pages[-1]


def test_executable_by(server, demo, admin, other):
    shared = new_image(server, demo.session, unique("exec"))
    ami = ami_named(demo.ec2, demo.session.get(
        f"{server.url}/image/v2/images/{shared}").json()["name"])["ImageId"]
    demo.ec2.modify_image_attribute(ImageId=ami, LaunchPermission={
        "Add": [{"UserId": other.account}]})
    assert ami in [i["ImageId"] for i in other.ec2.describe_images(
        ExecutableUsers=["self"])["Images"]]
    for user in (other.account, other.id):
        assert ami in [i["ImageId"] for i in demo.ec2.describe_images(
            ExecutableUsers=[user])["Images"]]
    assert ami not in [i["ImageId"] for i in demo.ec2.describe_images(
        ExecutableUsers=["self"])["Images"]]
    assert ami not in [i["ImageId"] for i in other.ec2.describe_images(
        ExecutableUsers=["all"])["Images"]]
    public = unique("exec-public")
    new_image(server, admin.session, public, visibility="public")
    assert [i["Name"] for i in other.ec2.describe_images(
        ExecutableUsers=["all"], Filters=[{"Name": "name", "Values": [public]}])[
        "Images"]] == [public]


def test_deactivated_images_are_disabled_amis_listed_on_request(server, admin):
    name = unique("disabled")
    image_id = new_image(server, admin.session, name)
    ami = ami_named(admin.ec2, name)["ImageId"]
    admin.session.post(f"{server.url}/image/v2/images/{image_id}/actions/deactivate")
    by_name = [{"Name": "name", "Values": [name]}]
    assert admin.ec2.describe_images(Filters=by_name)["Images"] == []
    (image,) = admin.ec2.describe_images(Filters=by_name, IncludeDisabled=True)["Images"]
    assert image["ImageId"] == ami and image["State"] == "disabled"
    assert admin.ec2.describe_images(ImageIds=[ami])["Images"][0]["State"] == "disabled"


def test_aws_cli_lists_own_images(server, demo):
    name = unique("cli-ami")
    new_image(server, demo.session, name)
    ids = json.loads(aws(server, "ec2", "describe-images", "--owners", "self",
                         "--query", "Images[].ImageId").stdout)
    assert ami_named(demo.ec2, name)["ImageId"] in ids
    assert all(AMI.fullmatch(i) for i in ids)


# ---- launch permissions and attributes ------------------------------------------

def test_launch_permission_for_another_project(server, demo, other):
    name = unique("shared")
    new_image(server, demo.session, name)
    ami = ami_named(demo.ec2, name)["ImageId"]
    assert error(other.ec2.describe_images, ImageIds=[ami]) == ("InvalidAMIID.NotFound", 400)
    assert demo.ec2.describe_image_attribute(ImageId=ami, Attribute="launchPermission")[
        "LaunchPermissions"] == []

    # A project id is taken for its account id; the account id is shown.
    demo.ec2.modify_image_attribute(ImageId=ami, Attribute="launchPermission",
                                    OperationType="add", UserIds=[other.id])
    assert demo.ec2.describe_image_attribute(ImageId=ami, Attribute="launchPermission")[
        "LaunchPermissions"] == [{"UserId": other.account}]
    (seen,) = other.ec2.describe_images(ImageIds=[ami])["Images"]
    assert seen["OwnerId"] == demo.account and seen["Public"] is False
    assert name in [i["Name"] for i in other.ec2.describe_images()["Images"]]
    # Not the other project's to read or change.
    assert error(other.ec2.describe_image_attribute, ImageId=ami,
                 Attribute="launchPermission") == ("AuthFailure", 401)
    assert error(other.ec2.modify_image_attribute, ImageId=ami,
                 Description={"Value": "mine now"}) == ("AuthFailure", 401)
    assert error(other.ec2.deregister_image, ImageId=ami) == ("UnauthorizedOperation", 403)

    demo.ec2.modify_image_attribute(ImageId=ami, LaunchPermission={
        "Remove": [{"UserId": other.account}]})
    assert error(other.ec2.describe_images, ImageIds=[ami]) == ("InvalidAMIID.NotFound", 400)
    assert name not in [i["Name"] for i in other.ec2.describe_images()["Images"]]

    demo.ec2.modify_image_attribute(ImageId=ami, LaunchPermission={
        "Add": [{"UserId": other.id}]})
    demo.ec2.reset_image_attribute(ImageId=ami, Attribute="launchPermission")
    assert demo.ec2.describe_image_attribute(ImageId=ami, Attribute="launchPermission")[
        "LaunchPermissions"] == []
    assert error(other.ec2.describe_images, ImageIds=[ami]) == ("InvalidAMIID.NotFound", 400)


def test_group_all_makes_an_image_public(server, demo, admin, other):
    name = unique("public")
    new_image(server, admin.session, name)
    ami = ami_named(admin.ec2, name)["ImageId"]
    admin.ec2.modify_image_attribute(ImageId=ami, LaunchPermission={
        "Add": [{"Group": "all"}]})
    assert admin.ec2.describe_image_attribute(ImageId=ami, Attribute="launchPermission")[
        "LaunchPermissions"] == [{"Group": "all"}]
    (seen,) = other.ec2.describe_images(ImageIds=[ami])["Images"]
    assert seen["Public"] is True and seen["OwnerId"] == admin.account != other.account
    assert ami in [i["ImageId"] for i in other.ec2.describe_images(
        Filters=[{"Name": "is-public", "Values": ["true"]}])["Images"]]
    assert error(other.ec2.describe_image_attribute, ImageId=ami,
                 Attribute="description") == ("AuthFailure", 401)
    admin.ec2.modify_image_attribute(ImageId=ami, Attribute="launchPermission",
                                     OperationType="remove", UserGroups=["all"])
    assert error(other.ec2.describe_images, ImageIds=[ami]) == ("InvalidAMIID.NotFound", 400)

    # Publishing is the image API's publicize_image: admins only.
    mine = unique("not-public")
    new_image(server, demo.session, mine)
    own = ami_named(demo.ec2, mine)["ImageId"]
    assert error(demo.ec2.modify_image_attribute, ImageId=own, LaunchPermission={
        "Add": [{"Group": "all"}]}) == ("UnauthorizedOperation", 403)


def test_description_attribute(server, demo):
    name = unique("described")
    new_image(server, demo.session, name)
    ami = ami_named(demo.ec2, name)["ImageId"]
    assert demo.ec2.describe_image_attribute(ImageId=ami, Attribute="description")[
        "ImageId"] == ami
    demo.ec2.modify_image_attribute(ImageId=ami, Description={"Value": "first"})
    assert demo.ec2.describe_image_attribute(ImageId=ami, Attribute="description")[
        "Description"] == {"Value": "first"}
    demo.ec2.modify_image_attribute(ImageId=ami, Attribute="description", Value="second")
    assert ami_named(demo.ec2, name)["Description"] == "second"
    assert demo.session.get(f"{server.url}/image/v2/images?name={name}").json()[
        "images"][0]["description"] == "second"
    assert demo.ec2.describe_image_attribute(ImageId=ami, Attribute="kernel")[
        "ImageId"] == ami


# ---- DeregisterImage ----------------------------------------------------------------

def test_deregister_image(server, demo):
    name = unique("gone")
    image_id = new_image(server, demo.session, name)
    ami = ami_named(demo.ec2, name)["ImageId"]
    assert error(demo.ec2.deregister_image, ImageId=ami, DryRun=True) == \
        ("DryRunOperation", 412)
    demo.ec2.deregister_image(ImageId=ami)
    assert demo.session.get(f"{server.url}/image/v2/images/{image_id}",
                            raise_exc=False).status_code == 404
    assert error(demo.ec2.describe_images, ImageIds=[ami]) == ("InvalidAMIID.NotFound", 400)
    assert error(demo.ec2.deregister_image, ImageId=ami) == ("InvalidAMIID.NotFound", 400)
    with pytest.raises(WaiterError):
        demo.ec2.get_waiter("image_available").wait(
            ImageIds=[ami], WaiterConfig={"Delay": 1, "MaxAttempts": 2})


# ---- every error these actions answer ---------------------------------------------

def test_errors(server, demo, other):
    name = unique("errs")
    new_image(server, demo.session, name)
    ami = ami_named(demo.ec2, name)["ImageId"]
    ec2 = demo.ec2
    for call, kwargs in ((ec2.describe_images, {"ImageIds": ["ami-123"]}),
                         (ec2.describe_images, {"ImageIds": ["i-0123456789abcdef0"]}),
                         (ec2.deregister_image, {"ImageId": "ami-xyz"}),
                         (ec2.describe_image_attribute, {"ImageId": "bogus",
                                                         "Attribute": "description"}),
                         (ec2.modify_image_attribute, {"ImageId": "ami-1",
                                                       "Description": {"Value": "x"}}),
                         (ec2.reset_image_attribute, {"ImageId": "ami-12",
                                                      "Attribute": "launchPermission"})):
        assert error(call, **kwargs) == ("InvalidAMIID.Malformed", 400), kwargs
    missing = "ami-0123456789abcdef0"
    for call, kwargs in ((ec2.describe_images, {"ImageIds": [missing]}),
                         (ec2.describe_images, {"ImageIds": [ami, "ami-01234567"]}),
                         (ec2.deregister_image, {"ImageId": missing}),
                         (ec2.describe_image_attribute, {"ImageId": missing,
                                                         "Attribute": "description"}),
                         (ec2.modify_image_attribute, {"ImageId": missing,
                                                       "Description": {"Value": "x"}}),
                         (ec2.reset_image_attribute, {"ImageId": missing,
                                                      "Attribute": "launchPermission"})):
        assert error(call, **kwargs) == ("InvalidAMIID.NotFound", 400), kwargs
    with pytest.raises(ClientError) as info:
        ec2.describe_images(ImageIds=[ami, "ami-01234567"])
    assert "ami-01234567" in info.value.response["Error"]["Message"]
    assert error(ec2.describe_images, ImageIds=[ami], MaxResults=5) == \
        ("InvalidParameterCombination", 400)
    assert error(ec2.describe_images, MaxResults=0) == ("InvalidParameterValue", 400)
    assert error(ec2.describe_images, MaxResults=1001) == ("InvalidParameterValue", 400)
    assert error(ec2.describe_images, NextToken="not a token") == \
        ("InvalidPaginationToken", 400)
    assert error(ec2.describe_images, Filters=[{"Name": "flavour", "Values": ["x"]}]) == \
        ("InvalidParameterValue", 400)
    assert error(ec2.describe_images, DryRun=True) == ("DryRunOperation", 412)
    assert error(ec2.describe_image_attribute, ImageId=ami, Attribute="bootMode") == \
        ("InvalidParameterValue", 400)
    assert error(ec2.modify_image_attribute, ImageId=ami) == ("MissingParameter", 400)
    assert error(ec2.modify_image_attribute, ImageId=ami, LaunchPermission={
        "Add": [{"Group": "everyone"}]}) == ("InvalidParameterValue", 400)
    assert error(ec2.modify_image_attribute, ImageId=ami, Attribute="launchPermission",
                 UserIds=[other.id]) == ("MissingParameter", 400)
    assert error(ec2.modify_image_attribute, ImageId=ami, Attribute="description",
                 OperationType="add", UserIds=[other.id]) == \
        ("InvalidParameterCombination", 400)
    assert error(ec2.modify_image_attribute, ImageId=ami, DryRun=True,
                 Description={"Value": "x"}) == ("DryRunOperation", 412)
    assert error(ec2.reset_image_attribute, ImageId=ami, DryRun=True,
                 Attribute="launchPermission") == ("DryRunOperation", 412)
    assert error(ec2.describe_image_attribute, ImageId=ami, DryRun=True,
                 Attribute="launchPermission") == ("DryRunOperation", 412)


# ---- RegisterImage -----------------------------------------------------------------

@pytest.fixture(scope="module")
def remote():
    r = Remote()
    yield r
    r.close()


def test_register_image_from_an_http_location(server, demo, endpoint, remote):
    data = os.urandom(64 * 1024 + 5)
    url = remote.put(f"{unique('reg')}.qcow2", data)
    name = unique("registered")
    ami = demo.ec2.register_image(
        Name=name, ImageLocation=url, Description="from a URL", Architecture="arm64",
        RootDeviceName="/dev/xvda", VirtualizationType="hvm",
        TagSpecifications=[{"ResourceType": "image", "Tags": [{"Key": "src", "Value": "web"}]}]
    )["ImageId"]
    assert AMI.fullmatch(ami)
    assert demo.ec2.describe_images(ImageIds=[ami])["Images"][0]["State"] in (
        "pending", "available")
    demo.ec2.get_waiter("image_available").wait(
        ImageIds=[ami], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    image = boto3.resource("ec2", endpoint_url=endpoint, region_name=REGION,
                           aws_access_key_id=demo.ec2._request_signer._credentials.access_key,
                           aws_secret_access_key=demo.ec2._request_signer._credentials
                           .secret_key).Image(ami)
    assert (image.name, image.description, image.architecture, image.root_device_name,
            image.state, image.owner_id, image.public) == \
        (name, "from a URL", "arm64", "/dev/xvda", "available", demo.account, False)
    assert image.tags == [{"Key": "src", "Value": "web"}]
    # The same image through the image API: its data was copied into the store.
    (glance,) = demo.session.get(f"{server.url}/image/v2/images?name={name}").json()["images"]
    assert glance["disk_format"] == "qcow2" and glance["architecture"] == "aarch64"
    assert glance["visibility"] == "private" and glance["size"] == len(data)
    assert demo.session.get(f"{server.url}/image/v2/images/{glance['id']}/file").content == data
    assert error(demo.ec2.register_image, Name=name, ImageLocation=url) == \
        ("InvalidAMIName.Duplicate", 400)
    image.deregister()
    assert error(demo.ec2.describe_images, ImageIds=[ami]) == ("InvalidAMIID.NotFound", 400)


def test_register_image_errors(server, demo, remote):
    url = remote.put(f"{unique('reg')}.img", b"disk")
    name = unique("reg-err")
    ec2 = demo.ec2
    before = len(demo.session.get(f"{server.url}/image/v2/images?owner={demo.id}&limit=1000"
                                  ).json()["images"])
    for kwargs, code in (
            ({"ImageLocation": url, "Name": "bad*name"}, "InvalidAMIName.Malformed"),
            ({"ImageLocation": url, "Name": "n" * 129}, "InvalidAMIName.Malformed"),
            ({"Name": name}, "MissingParameter"),
            ({"Name": name, "ImageLocation": "my-bucket/image.manifest.xml"},
             "InvalidParameterValue"),
            ({"Name": name, "ImageLocation": "s3://bucket/key"}, "InvalidParameterValue"),
            ({"Name": name, "ImageLocation": remote.url("missing.img")},
             "InvalidParameterValue"),
            ({"Name": name, "ImageLocation": url, "Architecture": "sparc"},
             "InvalidParameterValue"),
            ({"Name": name, "ImageLocation": url, "VirtualizationType": "paravirtual"},
             "InvalidParameterValue"),
            ({"Name": name, "ImageLocation": url, "KernelId": "aki-01234567"},
             "InvalidParameterValue"),
            ({"Name": name, "ImageLocation": url, "RootDeviceName": "sda"},
             "InvalidParameterValue"),
            ({"Name": name, "ImageLocation": url, "TagSpecifications": [{
                "ResourceType": "image", "Tags": [{"Key": "aws:x", "Value": "y"}]}]},
             "InvalidParameterValue"),
            ({"Name": name, "ImageLocation": url, "TagSpecifications": [{
                "ResourceType": "image",
                "Tags": [{"Key": f"k{i}", "Value": ""} for i in range(51)]}]},
             "TagLimitExceeded"),
            ({"Name": name, "ImageLocation": url, "TagSpecifications": [{
                "ResourceType": "instance", "Tags": [{"Key": "k", "Value": "v"}]}]},
             "InvalidParameterValue"),
            ({"Name": name, "RootDeviceName": "/dev/sda1", "BlockDeviceMappings": [{
                "DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": "snap-0123456789abcdef0"}}]},
             "InvalidSnapshot.NotFound"),
            ({"Name": name, "BlockDeviceMappings": [{
                "DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": "snap-nothex"}}]},
             "InvalidSnapshotID.Malformed"),
            ({"Name": name, "BlockDeviceMappings": [{
                "DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}]},
             "InvalidParameterValue"),
            ({"Name": name, "ImageLocation": url, "BlockDeviceMappings": [{
                "DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": "snap-0123456789abcdef0"}}]},
             "InvalidParameterCombination")):
        assert error(ec2.register_image, **kwargs) == (code, 400), kwargs
    assert error(ec2.register_image, Name=name, ImageLocation=url, DryRun=True) == \
        ("DryRunOperation", 412)
    # None of those left an image behind.
    after = demo.session.get(f"{server.url}/image/v2/images?owner={demo.id}&limit=1000"
                             ).json()["images"]
    assert len(after) == before and name not in {i["name"] for i in after}
    ec2.register_image(Name=name, ImageLocation=url)
    assert error(ec2.register_image, Name=name, ImageLocation=url) == \
        ("InvalidAMIName.Duplicate", 400)
    ec2.deregister_image(ImageId=ami_named(ec2, name)["ImageId"])


def test_aws_cli_registers_an_image(server, demo, remote):
    url = remote.put(f"{unique('cli-reg')}.raw", b"cli disk")
    name = unique("cli-registered")
    # aws CLI v1 fetches parameter values that look like URLs and sends the body
    # instead, unless told not to (v2 does not): the bootstrap's profile tells it.
    config = server.data_dir / "aws" / "config"
    assert "cli_follow_urlparam = false" in config.read_text()

    def cli(*args: str) -> str:
        proc = aws(server, "ec2", *args, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    ami = json.loads(cli("register-image", "--name", name, "--image-location", url,
                         "--architecture", "x86_64", "--query", "ImageId"))
    cli("wait", "image-available", "--image-ids", ami)
    assert ami_named(demo.ec2, name)["ImageId"] == ami
    cli("deregister-image", "--image-id", ami)


# ---- CreateImage -------------------------------------------------------------------

@pytest.fixture(scope="module")
def instances(demo, other, image):
    """An ACTIVE server in the demo and the other project: (demo's, other's) ids."""
    made = []
    for project in (demo, other):
        api = project.compute
        name = unique("snap-src")
        sid = api.ok("POST", "/servers", {"server": {"name": name, "imageRef": image,
                                                     "flavorRef": "1"}},
                     status=202)["server"]["id"]
        wait_for(api, sid, "ACTIVE")
        (inst,) = [i for r in project.ec2.describe_instances(Filters=[
            {"Name": "tag:Name", "Values": [name]}])["Reservations"] for i in r["Instances"]]
        made.append((api, sid, inst["InstanceId"]))
    yield made
    for api, sid, _ in made:
        delete_all(api, [sid])


def test_create_image_from_an_instance(server, demo, endpoint, instances):
    api, sid, iid = instances[0]
    name = unique("snapshot")
    ami = demo.ec2.create_image(InstanceId=iid, Name=name, Description="nightly",
                                NoReboot=True, TagSpecifications=[{
                                    "ResourceType": "image",
                                    "Tags": [{"Key": "from", "Value": iid}]}])["ImageId"]
    assert AMI.fullmatch(ami)
    (seen,) = demo.ec2.describe_images(ImageIds=[ami])["Images"]
    assert seen["State"] in ("pending", "available") and seen["Name"] == name
    demo.ec2.get_waiter("image_available").wait(
        ImageIds=[ami], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    (image,) = demo.ec2.describe_images(ImageIds=[ami])["Images"]
    assert image["State"] == "available" and image["Description"] == "nightly"
    assert image["Tags"] == [{"Key": "from", "Value": iid}]
    (glance,) = demo.session.get(f"{server.url}/image/v2/images?name={name}").json()["images"]
    assert glance["instance_uuid"] == sid and glance["image_type"] == "snapshot"
    wait_for(api, sid, "ACTIVE")
    # The boto3 resource way: Instance.create_image answers an Image.
    resource = boto3.resource("ec2", endpoint_url=endpoint, region_name=REGION,
                              aws_access_key_id=demo.ec2._request_signer._credentials
                              .access_key,
                              aws_secret_access_key=demo.ec2._request_signer._credentials
                              .secret_key)
    second = resource.Instance(iid).create_image(Name=unique("snapshot-res"))
    second.wait_until_exists()
    demo.ec2.get_waiter("image_available").wait(
        ImageIds=[second.id], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    wait_for(api, sid, "ACTIVE")
    for done in (ami, second.id):
        demo.ec2.deregister_image(ImageId=done)


def test_create_image_errors(server, demo, other, admin_session, instances):
    api, sid, iid = instances[0]
    _, _, other_iid = instances[1]
    ec2 = demo.ec2
    for kwargs, code in (
            ({"InstanceId": "i-123", "Name": "snap-x"}, "InvalidInstanceID.Malformed"),
            ({"InstanceId": "i-0123456789abcdef0", "Name": "snap-x"},
             "InvalidInstanceID.NotFound"),
            ({"InstanceId": other_iid, "Name": "snap-x"}, "InvalidInstanceID.NotFound"),
            ({"InstanceId": iid, "Name": "snap*x"}, "InvalidAMIName.Malformed"),
            ({"InstanceId": iid, "Name": "snap-x", "TagSpecifications": [{
                "ResourceType": "snapshot", "Tags": [{"Key": "k", "Value": "v"}]}]},
             "InvalidParameterValue"),
            ({"InstanceId": iid, "Name": "snap-x", "BlockDeviceMappings": [{
                "DeviceName": "/dev/sdb", "NoDevice": ""}]}, "InvalidParameterValue")):
        assert error(ec2.create_image, **kwargs) == (code, 400), kwargs
    assert error(ec2.create_image, InstanceId=iid, Name="snap-x", DryRun=True) == \
        ("DryRunOperation", 412)
    taken = unique("taken")
    new_image(server, demo.session, taken)
    assert error(ec2.create_image, InstanceId=iid, Name=taken) == \
        ("InvalidAMIName.Duplicate", 400)
    # Nova refuses to snapshot a server in the error state: IncorrectInstanceState.
    admin = Api(f"{server.url}/compute/v2.1", admin_session)
    admin.ok("PUT", f"/os-quota-sets/{other.id}", {"quota_set": {"ram": -1}})
    flavor = unique("snap-huge")
    admin.ok("POST", "/flavors", {"flavor": {"name": flavor, "id": flavor,
                                             "ram": 10 ** 6, "vcpus": 1, "disk": 1}})
    other_api = Api(f"{server.url}/compute/v2.1", other.session)
    image = demo.session.get(f"{server.url}/image/v2/images?name=nimbus-tiny").json()[
        "images"][0]["id"]
    doomed = unique("doomed")
    sid = other_api.ok("POST", "/servers", {"server": {
        "name": doomed, "imageRef": image, "flavorRef": flavor}}, status=202)["server"]["id"]
    try:
        wait_for(other_api, sid, "ERROR")
        (inst,) = [i for r in other.ec2.describe_instances(Filters=[
            {"Name": "tag:Name", "Values": [doomed]}])["Reservations"] for i in r["Instances"]]
        assert error(other.ec2.create_image, InstanceId=inst["InstanceId"],
                     Name=unique("refused")) == ("IncorrectInstanceState", 400)
        assert other.ec2.describe_images(Owners=["self"])["Images"] == []
    finally:
        delete_all(other_api, [sid])
        admin("DELETE", f"/flavors/{flavor}")
