"""gateway/ec2/handlers/run_block_devices.py: RunInstances' BlockDeviceMapping
as Nova's block_device_mapping_v2 (root from the image, snapshots, volumes,
blank volumes; DeleteOnTermination true by default; the bad ones)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core import errors
from core.idmap.ids import Kind, canonical_id
from gateway.ec2.errors import Ec2Error
from gateway.ec2.handlers.run_block_devices import block_devices

SNAP = "snap-0123456789abcdef0"
VOL = "vol-0123456789abcdef0"


class FakeHandler:
    def __init__(self) -> None:
        image = SimpleNamespace(properties={}, size=3 * 1024 ** 3 + 1, min_disk=0)
        self.deps = SimpleNamespace(
            images=SimpleNamespace(show=lambda ctx, uuid: SimpleNamespace(image=image)),
            volumes=SimpleNamespace(
                snapshots=SimpleNamespace(get=lambda ctx, uuid: SimpleNamespace(size=5)),
                types=SimpleNamespace(list=lambda ctx: [SimpleNamespace(name="gold")])))

    def os_id(self, kind: Kind, value: str) -> str:
        ident = canonical_id(kind, value)
        if ident.endswith("f1"):
            raise errors.NotFound(kind=kind.resource, id=ident)
        return f"uuid-of-{ident}"


def devices(mappings):
    return block_devices(FakeHandler(), None, mappings, "image-uuid")  # type: ignore[arg-type]


def test_root_from_the_image_and_a_blank_volume():
    root, data = devices([
        {"DeviceName": "/dev/sda1", "Ebs": {"VolumeType": "gp2"}},
        {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 2, "DeleteOnTermination": False,
                                           "VolumeType": "gold"}},
        {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"},
        {"DeviceName": "/dev/sdc", "NoDevice": ""}])
    assert (root.source_type, root.uuid, root.volume_size, root.boot_index) == \
        ("image", "image-uuid", 4, 0)
    assert root.delete_on_termination is True and root.volume_type is None
    assert root.ec2_device == "/dev/sda1" and root.destination_type == "volume"
    assert (data.source_type, data.uuid, data.volume_size, data.boot_index) == \
        ("blank", None, 2, None)
    assert data.delete_on_termination is False and data.volume_type == "gold"


def test_snapshots_and_volumes():
    snap, vol = devices([{"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": SNAP}},
                         {"DeviceName": "xvdg", "Ebs": {"SnapshotId": VOL}}])
    assert (snap.source_type, snap.uuid, snap.volume_size) == \
        ("snapshot", f"uuid-of-{SNAP}", 5)
    assert (vol.source_type, vol.uuid, vol.volume_size) == ("volume", f"uuid-of-{VOL}", None)
    assert devices([]) == []


@pytest.mark.parametrize(("mappings", "code"), [
    ([{"Ebs": {"VolumeSize": 1}}], "MissingParameter"),
    ([{"DeviceName": "/dev/sdf"}], "InvalidBlockDeviceMapping"),
    ([{"DeviceName": "/dev/sdf", "Ebs": {}}], "InvalidBlockDeviceMapping"),
    ([{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 0}}], "InvalidBlockDeviceMapping"),
    ([{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 2}}], "InvalidBlockDeviceMapping"),
    ([{"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": SNAP, "VolumeSize": 4}}],
     "InvalidBlockDeviceMapping"),
    ([{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1}},
      {"DeviceName": "sdf", "Ebs": {"VolumeSize": 1}}], "InvalidBlockDeviceMapping"),
    ([{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1, "Encrypted": True}}],
     "InvalidParameterValue"),
    ([{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1, "VolumeType": "platinum"}}],
     "InvalidParameterValue"),
])
def test_bad_mappings(mappings, code):
    with pytest.raises(Ec2Error) as info:
        devices(mappings)
    assert info.value.code == code
