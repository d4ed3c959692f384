"""core/compute/boot_checks.py: what a boot request must pass before anything is
written (zone and forced host, flavor, image, key pair, metadata, user data,
scheduler hints), each refused with Nova's error and wording."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import update

from core import errors
from core.compute.boot_checks import BootChecks
from core.compute.models import Flavor, KeyPair
from core.services import CoreServices
from tests.support.core_services import ADMIN, IMAGE_ID, MEMBER, add_compute_host, add_image


@pytest.fixture
def checks(core: CoreServices) -> BootChecks:
    return core.servers.checks


def tiny(core: CoreServices):
    return core.flavors.get(MEMBER, "1")


# ---------------------------------------------------------------- zone

def test_zone(core, checks):
    add_compute_host(core.db, "h1", zone="az1")
    target = {"project_id": "p1", "user_id": "u1"}
    assert checks.zone(MEMBER, None, target) == (None, None)
    assert checks.zone(MEMBER, "az1", target) == ("az1", None)
    with pytest.raises(errors.InvalidInput,
                       match="^The requested availability zone is not available$"):
        checks.zone(MEMBER, "nova", target)


def test_forced_host_needs_an_admin_and_a_compute_host(core, checks):
    add_compute_host(core.db, "h1", zone="az1")
    add_compute_host(core.db, "c1", binary="nova-conductor")
    target = {"project_id": "p1", "user_id": "u1"}
    with pytest.raises(errors.Forbidden):
        checks.zone(MEMBER, "az1:h1", target)
    assert checks.zone(ADMIN, "az1:h1", target) == ("az1", "h1")
    assert checks.zone(ADMIN, ":h1", target) == (None, "h1")
    for host in ("ghost", "c1"):
        with pytest.raises(errors.InvalidInput, match=f"^No valid host was found. Host {host} "
                                                      "is not a compute host.$"):
            checks.zone(ADMIN, f"az1:{host}", target)


# ---------------------------------------------------------------- flavor

def test_flavor_by_id_or_link(checks):
    assert checks.flavor(MEMBER, "2").name == "m1.small"
    assert checks.flavor(MEMBER, "http://nova/v2.1/flavors/3/").name == "m1.medium"
    with pytest.raises(errors.InvalidInput, match="^Flavor 99 could not be found.$"):
        checks.flavor(MEMBER, "99")


def test_private_and_disabled_flavors_cannot_boot(core, checks):
    core.flavors.create(ADMIN, "secret", 512, 1, 1, flavor_id="p", is_public=False)
    with pytest.raises(errors.InvalidInput, match="^Flavor p could not be found.$"):
        checks.flavor(MEMBER, "p")
    assert checks.flavor(ADMIN, "p").name == "secret"
    core.flavors.create(ADMIN, "old", 512, 1, 1, flavor_id="d")
    with core.db.session() as s:
        s.execute(update(Flavor).where(Flavor.flavorid == "d").values(disabled=True))
    with pytest.raises(errors.InvalidInput, match="^Flavor d could not be found.$"):
        checks.flavor(MEMBER, "d")


# ---------------------------------------------------------------- image

def test_image_as_the_boot_sees_it(core, checks):
    add_image(core.db, "22222222-2222-2222-2222-222222222222", name="props",
              properties={"os_distro": "cirros", "hw_numa": 2}, min_ram=256)
    image = checks.image(MEMBER, "http://glance/v2/images/22222222-2222-2222-2222-222222222222",
                         tiny(core))
    assert image == {"id": "22222222-2222-2222-2222-222222222222", "name": "props",
                     "properties": {"os_distro": "cirros"}, "min_ram": 256, "min_disk": 0,
                     "size": 1 << 20, "disk_format": "raw",
                     "container_format": "bare"}


def test_missing_unknown_and_hidden_images(core, checks):
    with pytest.raises(errors.InvalidInput, match="^Missing imageRef attribute$"):
        checks.image(MEMBER, None, tiny(core))
    with pytest.raises(errors.InvalidInput, match="^Image nope could not be found.$"):
        checks.image(MEMBER, "nope", tiny(core))
    hidden = add_image(core.db, "33333333-3333-3333-3333-333333333333",
                       visibility="private", owner="p2")
    with pytest.raises(errors.InvalidInput, match=f"^Image {hidden} could not be found.$"):
        checks.image(MEMBER, hidden, tiny(core))


def test_image_must_be_active(core, checks):
    queued = add_image(core.db, "44444444-4444-4444-4444-444444444444", status="queued")
    with pytest.raises(errors.InvalidInput, match=f"^Image {queued} is not active.$"):
        checks.image(MEMBER, queued, tiny(core))


@pytest.mark.parametrize(("fields", "message"), [
    ({"min_ram": 1024}, "^Flavor's memory is too small for requested image.$"),
    ({"min_disk": 2}, "^Flavor's disk is too small for requested image. Flavor disk is "
                      "1073741824 bytes, minimum size is 2147483648 bytes.$"),
    ({"size": 2 << 30}, "^Flavor's disk is too small for requested image. Flavor disk is "
                        "1073741824 bytes, image is 2147483648 bytes.$"),
])
def test_image_too_big_for_the_flavor(core, checks, fields, message):
    image_id = add_image(core.db, "55555555-5555-5555-5555-555555555555", **fields)
    with pytest.raises(errors.InvalidInput, match=message):
        checks.image(MEMBER, image_id, tiny(core))


def test_a_flavor_without_disk_takes_any_image(core, checks):
    core.flavors.create(ADMIN, "diskless", 512, 1, 0, flavor_id="z")
    big = add_image(core.db, "66666666-6666-6666-6666-666666666666", size=50 << 30,
                    min_disk=40)
    assert checks.image(MEMBER, big, core.flavors.get(MEMBER, "z"))["min_disk"] == 40


# ---------------------------------------------------------------- key, metadata, user data

def test_key_pair_of_the_user(core, checks):
    with core.db.session() as s:
        s.add(KeyPair(user_id="u1", project_id="p1", name="k", fingerprint="f",
                      public_key="ssh-ed25519 AAAA"))
    assert checks.key(MEMBER, None) == (None, None)
    assert checks.key(MEMBER, "k") == ("k", "ssh-ed25519 AAAA")
    with pytest.raises(errors.InvalidInput, match="^Invalid key_name provided.$"):
        checks.key(ADMIN, "k")  # another user's key pair


def test_metadata(checks):
    checks.check_metadata({f"k{i}": "v" for i in range(128)})
    with pytest.raises(errors.QuotaExceeded, match="^Quota exceeded for metadata_items: "
                                                   "Requested 129, but already used 0 of 128 "
                                                   "metadata_items$"):
        checks.check_metadata({f"k{i}": "v" for i in range(129)})


@pytest.mark.parametrize("metadata", [{"k": 1}, {"": "v"}, {"k" * 256: "v"}, {"k": "v" * 256}])
def test_invalid_metadata(checks, metadata):
    with pytest.raises(errors.InvalidInput):
        checks.check_metadata(metadata)


def test_user_data():
    data = base64.encodebytes(b"#!/bin/sh\n" * 20).decode()  # wrapped at 76 columns
    assert "\n" in data and BootChecks.user_data(data) == data
    assert BootChecks.user_data(None) is None
    with pytest.raises(errors.InvalidInput, match="^User data needs to be valid base 64.$"):
        BootChecks.user_data("not base64!")
    with pytest.raises(errors.InvalidInput, match="^User data too large"):
        BootChecks.user_data(base64.b64encode(b"x" * 50000).decode())


def test_hints(checks):
    # hints no filter here reads are kept as given: Nova keeps them in the request
    # spec, and the server view shows them from 2.100
    assert checks.hints({"same_host": "a", "different_host": ["b", "c"], "group": "g",
                         "build_near_host_ip": "10.0.0.1", "cidr": "/24"}) == \
        {"same_host": ["a"], "different_host": ["b", "c"], "group": "g",
         "build_near_host_ip": "10.0.0.1", "cidr": "/24"}
    assert checks.hints({"same_host": "", "group": None}) == {}


def test_a_public_image_of_another_project(core, checks):
    assert checks.image(MEMBER, IMAGE_ID, tiny(core))["name"] == "cirros"  # owner p-admin
