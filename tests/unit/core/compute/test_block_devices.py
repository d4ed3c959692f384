"""Device names of a server's volumes, as Nova with libvirt chooses them."""

from __future__ import annotations

import pytest

from core import errors
from core.compute.block_devices import check_requested, next_device_name


def test_the_first_volume_is_vdb_after_the_root_disk():
    assert next_device_name([]) == "/dev/vdb"


def test_names_skip_the_ones_in_use_and_fill_gaps():
    assert next_device_name(["/dev/vdb", "/dev/vdc"]) == "/dev/vdd"
    assert next_device_name(["/dev/vdc", None]) == "/dev/vdb"


def test_after_vdz_comes_vdaa():
    used = [f"/dev/vd{chr(c)}" for c in range(ord("b"), ord("z") + 1)]
    assert next_device_name(used) == "/dev/vdaa"


@pytest.mark.parametrize("device", ["/dev/sdf", "/dev/vdc", "/dev/xvdh", "/dev/hda1", None])
def test_device_paths_nova_accepts(device):
    check_requested(device)


@pytest.mark.parametrize("device", ["sdf", "/dev/", "/dev/1", "/etc/passwd", "", 5])
def test_other_names_are_a_400(device):
    with pytest.raises(errors.InvalidInput, match="The supplied device path"):
        check_requested(device)
