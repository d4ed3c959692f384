"""gateway/ec2/handlers/images.py: an image as an AMI, without a server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.image.models import Image
from gateway.ec2.handlers.images import image_view

AMI = "ami-0123456789abcdef0"
ACCOUNT = "012345678901"  # the owner project's account id


def image(**kw) -> Image:
    values = {"id": "6d0c4a8e-0000-4000-8000-000000000001", "name": "cirros",
              "status": "active", "visibility": "private", "owner": "p1", "properties": {},
              "created_at": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)}
    return Image(**{**values, **kw})


@pytest.mark.parametrize(("status", "state"), [
    ("queued", "pending"), ("saving", "pending"), ("importing", "pending"),
    ("uploading", "pending"), ("active", "available"), ("killed", "failed"),
    ("deleted", "deregistered"), ("pending_delete", "deregistered"),
    ("deactivated", "disabled")])
def test_glance_statuses_are_ec2_states(status, state):
    assert image_view(image(status=status), AMI, ACCOUNT)["State"] == state


def test_the_ami_fields():
    view = image_view(image(properties={"description": "tiny"}), AMI, ACCOUNT)
    assert view["ImageId"] == AMI and view["OwnerId"] == ACCOUNT
    assert view["ImageLocation"] == "012345678901/cirros"
    assert view["CreationDate"] == "2026-01-02T03:04:05.678Z"
    assert view["Architecture"] == "x86_64" and view["Description"] == "tiny"
    assert view["Public"] is False and view["StateReason"] is None
    assert (view["ImageType"], view["RootDeviceType"], view["RootDeviceName"],
            view["VirtualizationType"], view["Hypervisor"], view["PlatformDetails"]) == \
        ("machine", "instance-store", "/dev/sda1", "hvm", "xen", "Linux/UNIX")


def test_public_and_community_images_are_public_amis():
    assert image_view(image(visibility="public"), AMI, ACCOUNT)["Public"] is True
    assert image_view(image(visibility="community"), AMI, ACCOUNT)["Public"] is True
    assert image_view(image(visibility="shared"), AMI, ACCOUNT)["Public"] is False


def test_a_failed_upload_says_why():
    assert image_view(image(status="killed"), AMI, ACCOUNT)["StateReason"]["Code"] == \
        "Client.ImageFailed"


@pytest.mark.parametrize(("glance", "ec2"), [
    ("aarch64", "arm64"), ("arm64", "arm64"), ("i686", "i386"), ("x86_64", "x86_64")])
def test_architecture_comes_from_the_property(glance, ec2):
    view = image_view(image(properties={"architecture": glance}), AMI, ACCOUNT)
    assert view["Architecture"] == ec2
