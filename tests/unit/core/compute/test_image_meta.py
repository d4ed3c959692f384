"""core/compute/image_meta.py: the image a server was built from, kept in its
system metadata as Nova keeps it (``image_*`` items) and shown from 2.98."""

from __future__ import annotations

from core.compute import image_meta

IMAGE = {"id": "img-1", "name": "cirros", "min_ram": 64, "min_disk": 0, "size": 1 << 20,
         "disk_format": "qcow2", "container_format": "bare",
         "properties": {"os_distro": "cirros", "block_device_mapping": "[...]",
                        "long": "x" * 300}}


def test_from_image_keeps_properties_and_attributes_as_strings():
    items = image_meta.from_image(IMAGE, {"root_gb": 5})
    assert items == {"image_os_distro": "cirros", "image_long": "x" * 255,
                     "image_min_ram": "64", "image_min_disk": "5",
                     "image_disk_format": "qcow2", "image_container_format": "bare",
                     "image_base_image_ref": "img-1"}


def test_min_disk_is_the_images_for_vhd_or_without_a_flavor():
    assert image_meta.from_image(dict(IMAGE, disk_format="vhd", min_disk=2),
                                 {"root_gb": 5})["image_min_disk"] == "2"
    assert image_meta.from_image(dict(IMAGE, min_disk=3), None)["image_min_disk"] == "3"


def test_rebuild_replaces_the_image_items_and_keeps_the_rest():
    before = {"image_os_distro": "cirros", "image_hw_rng": "yes", "shelved_host": "h1"}
    after = image_meta.with_image(before, {"id": "img-2", "properties": {"color": "blue"}},
                                  {"root_gb": 1})
    assert after == {"shelved_host": "h1", "image_color": "blue", "image_min_disk": "1",
                     "image_base_image_ref": "img-2"}


def test_properties_strip_the_prefix_and_ignore_other_items():
    assert image_meta.properties({"image_os_distro": "cirros", "image_min_ram": "64",
                                  "shelved_image_id": "s1", "locked_reason": "x"}) == \
        {"os_distro": "cirros", "min_ram": "64"}
    assert image_meta.properties(None) == {}
