"""The volumes of a build (boot from volume, and other volumes mapped at boot):
made from their image, snapshot or nothing, waited for until ``available``,
and reserved for the instance with their device names (the root ``/dev/vda``)
before the instance is scheduled; the agent connects them after the spawn.

Idempotent: a volume made for a mapping carries a client token naming the
instance and the mapping, so a build delivered twice finds the volumes the
first delivery made, and the attachments it reserved."""

from __future__ import annotations

import logging
import time
from typing import Any

from core import errors
from core.compute import block_devices
from core.compute.boot_volumes import BlockDevice
from core.compute.models import Instance
from core.compute.server_volumes import attachment_message
from core.conductor.tasks import ConductorDeps
from core.conductor.volumes import VolumeAttachments
from core.context import RequestContext

log = logging.getLogger(__name__)

WAIT_SECONDS = 180.0  # Nova: block_device_allocate_retries (60) x 3 s
POLL_SECONDS = 0.2


class BootVolumeFailed(Exception):
    """A volume of the build could not be had; the build fails with this message."""


def owner_context(inst: Instance) -> RequestContext:
    """Nova acting for the instance's owner: the volumes are the owner's."""
    return RequestContext(user_id=inst.user_id, project_id=inst.project_id,
                          roles=("admin", "member", "reader"), is_admin=True)


class BootVolumePreparer:
    def __init__(self, deps: ConductorDeps, wait_seconds: float = WAIT_SECONDS) -> None:
        self.deps = deps
        self.wait_seconds = wait_seconds
        self.attachments = VolumeAttachments(deps)

    def prepare(self, inst: Instance, mappings: list[dict[str, Any]]) -> None:
        """Make, wait for and reserve each volume of ``mappings`` for ``inst``;
        BootVolumeFailed when one cannot be had."""
        volumes = self.deps.volumes
        if not mappings:
            return
        if volumes is None:
            raise BootVolumeFailed("Block storage is not available.")
        ctx = owner_context(inst)
        devices = [BlockDevice.from_message(m) for m in mappings]
        # the root first: it takes /dev/vda
        ordered = sorted(enumerate(devices), key=lambda p: (not p[1].is_root, p[0]))
        for index, device in ordered:
            try:
                self._one(ctx, inst, index, device)
            except errors.CoreError as exc:
                raise BootVolumeFailed(f"Build of instance {inst.uuid} aborted: "
                                       f"{exc.message}") from exc
        try:
            self.deps.store.get(inst.uuid)
        except errors.NotFound:  # deleted meanwhile: its delete found no volumes yet
            self.attachments.release_instance_volumes(inst.uuid, inst.project_id)
            raise BootVolumeFailed(f"Instance {inst.uuid} was deleted during its build.") \
                from None

    def _one(self, ctx: RequestContext, inst: Instance, index: int,
             device: BlockDevice) -> None:
        volumes = self.deps.volumes
        if device.source_type == "volume":
            volume_id = str(device.uuid)
        else:
            volume = volumes.volumes.create(
                ctx, size=device.volume_size, name=f"{inst.display_name}-{index}"
                if device.source_type == "blank" else None,
                volume_type=device.volume_type,
                availability_zone=None, image_id=device.uuid
                if device.source_type == "image" else None,
                snapshot_id=device.uuid if device.source_type == "snapshot" else None,
                client_token=f"bdm-{inst.uuid}-{index}")
            volume_id = volume.id
        live = self.attachments.live(inst.uuid)
        if any(a.volume_id == volume_id for a in live):
            return  # reserved by a first delivery of this build
        self._wait_available(ctx, volume_id)
        name = (block_devices.ROOT_DEVICE if device.is_root
                else block_devices.next_device_name(a.mountpoint for a in live))
        row = volumes.attachments.create(
            ctx, volume_id, inst.uuid, device=name,
            delete_on_termination=device.delete_on_termination, tag=device.tag,
            ec2_device=device.ec2_device or device.device_name, boot_index=device.boot_index)
        if not device.is_root:
            self.attachments.settle_device(inst.uuid, row)

    def _wait_available(self, ctx: RequestContext, volume_id: str) -> None:
        deadline = time.monotonic() + self.wait_seconds
        status = "creating"
        while time.monotonic() < deadline:
            status = self.deps.volumes.volumes.get(ctx, volume_id).status
            if status == "available":
                return
            if status.startswith("error"):
                break
            if status not in ("creating", "downloading"):
                raise BootVolumeFailed(f"Invalid volume: volume '{volume_id}' status must be "
                                       f"'available'. Currently in '{status}'")
            time.sleep(POLL_SECONDS)
        raise BootVolumeFailed(f"Volume {volume_id} did not finish being created even after "
                               f"we waited {int(self.wait_seconds)} seconds. And its status "
                               f"is {status}.")

    def block_devices(self, instance_uuid: str) -> list[dict[str, Any]]:
        """The reserved attachments the agent is to connect after the spawn."""
        return [attachment_message(a) for a in self.attachments.live(instance_uuid)
                if a.attach_status == "reserved"]
