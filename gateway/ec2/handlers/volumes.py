"""EBS volumes over Cinder's (:mod:`core.volume`): CreateVolume, DescribeVolumes,
DeleteVolume, AttachVolume, DetachVolume, ModifyVolume, DescribeVolumeStatus
and DescribeVolumeAttribute.

A volume is shown under its ``vol-`` ID, with AWS's states
(:mod:`gateway.ec2.handlers.volume_views`). ``VolumeType`` is a volume type's
name; AWS's own names (``gp2``, ``standard``, ...) mean the default type unless
a type has that name. A deleted volume is gone: DescribeVolumes naming it
answers ``InvalidVolume.NotFound``, which ends boto3's ``volume_deleted``
waiter. Attaching goes through the compute service's attach flow (the same
as Nova's ``os-volume_attachments``), keeping the device name the client
asked for beside Nova's.
"""

from __future__ import annotations

import re
from typing import Any

from core import errors
from core.clock import utcnow
from core.context import RequestContext
from core.idmap.ids import Kind
from core.tagging.rules import Resource, check_tags
from core.volume import errors as vol_errors
from core.volume.models import Volume
from gateway.ec2.api import Call, action
from gateway.ec2.errors import Ec2Error
from gateway.ec2.filters import Filters
from gateway.ec2.handlers import block_lookup
from gateway.ec2.handlers.base import Ec2Deps, Handler
from gateway.ec2.handlers.instances import Instances
from gateway.ec2.handlers.tags import tag_specifications
from gateway.ec2.handlers.volume_views import (
    VOLUME_FILTERS,
    VolumeViews,
    cinder_type,
    public,
)
from gateway.ec2.paging import page, reject_ids_with_max_results
from gateway.ec2.xml import iso8601

CREATE = "volume:create"
GET = "volume:get"
LIST = "volume:get_all"
DELETE = "volume:delete"
EXTEND = "volume:extend"
ATTACH = "os_compute_api:os-volumes-attachments:create"
DETACH = "os_compute_api:os-volumes-attachments:delete"
MAX_SIZE = 16384  # GiB, as AWS's gp2
# /dev/sdf, sdf, /dev/xvdh, /dev/vdb ...: what EC2 (and Nova) take as a device name
DEVICE = re.compile(r"(/dev/)?(sd|xvd|hd|vd)[a-z]{1,2}[0-9]{0,2}")

STATUS_FILTERS: Filters[dict[str, Any]] = Filters({
    "availability-zone": lambda v: v["AvailabilityZone"],
    "volume-status.status": lambda v: v["VolumeStatus"]["Status"],
    "volume-status.details-name": lambda v: [d["Name"] for d in v["VolumeStatus"]["Details"]],
    "volume-status.details-status": lambda v: [d["Status"]
                                               for d in v["VolumeStatus"]["Details"]],
    "action.code": lambda v: [], "action.description": lambda v: [],
    "action.event-id": lambda v: [], "event.event-id": lambda v: [],
    "event.event-type": lambda v: [], "event.description": lambda v: [],
    "event.not-after": lambda v: [], "event.not-before": lambda v: [],
})


def check_max_results(value: int | None) -> None:
    if value is not None and not 5 <= value <= 1000:
        raise Ec2Error("InvalidParameterValue",
                       f"Value ( {value} ) for parameter maxResults is invalid. "
                       "Expecting a value between 5 and 1000.")


def check_size(size: Any) -> int:
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_SIZE:
        raise Ec2Error("InvalidParameterValue",
                       f"Invalid value '{size}' for size: it must be between 1 and "
                       f"{MAX_SIZE} GiB.")
    return size


class Volumes(Handler):
    def __init__(self, deps: Ec2Deps) -> None:
        super().__init__(deps)
        self.views = VolumeViews(deps)
        self.instances = Instances(deps)

    # ---- lookups ----------------------------------------------------------------
    def volume(self, ctx: RequestContext, ec2_id: str) -> Volume:
        """One of the caller's volumes by ``vol-`` ID."""
        return block_lookup.one(self, ctx, Kind.VOLUME, ec2_id, self.deps.volumes.volumes.get,
                                "VolumeId", "volume")

    def own(self, ctx: RequestContext) -> list[Volume]:
        """Every volume of the caller's project."""
        return block_lookup.every(self.deps.volumes.volumes.list, ctx)

    def view(self, ctx: RequestContext, vol: Volume) -> dict[str, Any]:
        return public(self.views.volumes(ctx, [vol])[0])

    # ---- CreateVolume -------------------------------------------------------------
    @action("CreateVolume", rules=(CREATE,))
    def create_volume(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        size, snapshot = call.get("Size"), call.get("SnapshotId")
        if size is None and not snapshot:
            raise Ec2Error("MissingParameter", "The request must contain the parameter size "
                                               "or snapshotId")
        if size is not None:
            check_size(size)
        for unsupported in ("Encrypted", "KmsKeyId", "OutpostArn"):
            if call.get(unsupported):
                raise Ec2Error("InvalidParameterValue", f"{unsupported} is not supported by "
                                                        "this cloud.")
        snapshot_uuid = None
        if snapshot:
            snapshot_uuid = self.os_id(Kind.SNAPSHOT, snapshot)
            source = self.deps.volumes.snapshots.get(ctx, snapshot_uuid)
            if size is not None and size < source.size:
                raise Ec2Error("InvalidParameterValue",
                               f"The volume size {size} GiB is smaller than the snapshot's, "
                               f"{source.size} GiB.")
            size = size or source.size
        token = call.get("ClientToken")
        tags = tag_specifications(call, "volume")
        check_tags(tags)
        vol = self.deps.volumes.volumes.create(
            ctx, size=size, volume_type=cinder_type(self.deps, ctx, call.get("VolumeType")),
            availability_zone=call.get("AvailabilityZone") or None,
            snapshot_id=snapshot_uuid, multiattach=bool(call.get("MultiAttachEnabled")),
            client_token=token)
        vol_id = self.deps.ids.ec2_id_for(Kind.VOLUME, vol.id, vol.project_id)
        if tags:
            self.deps.tags.create(ctx, [Resource(Kind.VOLUME, vol_id, vol.id)], tags)
        return self.view(ctx, vol)

    # ---- DescribeVolumes ------------------------------------------------------------
    @action("DescribeVolumes", rules=(LIST,))
    def describe_volumes(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        wanted = call.get("VolumeIds", [])
        max_results = call.get("MaxResults")
        reject_ids_with_max_results(wanted, max_results, "volumeIds")
        check_max_results(max_results)
        if wanted:
            vols = self._wanted(ctx, wanted)
        else:
            vols = self.own(ctx)
        views = self.views.volumes(ctx, vols)
        views = VOLUME_FILTERS.apply(views, self.owner_filters(call.get("Filters")))
        views.sort(key=lambda v: v["VolumeId"])
        chunk, token = page(views, lambda v: v["VolumeId"], max_results,
                            call.get("NextToken"))
        return {"Volumes": [public(v) for v in chunk], "NextToken": token}

    def _wanted(self, ctx: RequestContext, wanted: list[str]) -> list[Volume]:
        return block_lookup.named(self, ctx, Kind.VOLUME, wanted,
                                  self.deps.volumes.volumes.get, "volume")

    # ---- DeleteVolume ---------------------------------------------------------------
    @action("DeleteVolume", rules=(DELETE,))
    def delete_volume(self, call: Call) -> None:
        ctx = call.ctx
        vol = self.volume(ctx, call.get("VolumeId", ""))
        if vol.status in ("in-use", "reserved", "attaching", "detaching"):
            raise vol_errors.VolumeInUse("volume is attached", id=vol.id, state=vol.status)
        self.deps.volumes.volumes.delete(ctx, vol.id)
        return None

    # ---- AttachVolume / DetachVolume -----------------------------------------------
    @action("AttachVolume", rules=(ATTACH,))
    def attach_volume(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        device = call.get("Device")
        if not device:
            raise Ec2Error("MissingParameter", "The request must contain the parameter device")
        if not DEVICE.fullmatch(device):
            raise Ec2Error("InvalidParameterValue",
                           f"Value ({device}) for parameter device is invalid. "
                           f"{device} is not a valid EBS device name.")
        vol = self.volume(ctx, call.get("VolumeId", ""))
        (inst,) = self.instances.find(ctx, [call.get("InstanceId", "")])
        taken = {d for a in self.deps.server_volumes.attached(inst.uuid)
                 for d in (a.ec2_device, a.device) if d}
        if device in taken:
            raise Ec2Error("InvalidParameterValue",
                           f"Attachment point {device} is already in use")
        zone = inst.availability_zone or self.deps.settings.default_availability_zone
        if vol.availability_zone != zone:
            instance_id = self.instances.ec2_ids([inst])[inst.uuid]
            raise Ec2Error("InvalidVolume.ZoneMismatch",
                           f"The volume '{call.get('VolumeId')}' is not in the same "
                           f"availability zone as instance '{instance_id}'")
        if vol.status in ("in-use", "reserved", "attaching", "detaching"):
            raise vol_errors.VolumeInUse("volume is attached", id=vol.id, state=vol.status)
        if vol.status != "available":
            raise errors.Conflict(kind="volume", id=vol.id, state=vol.status)
        self.deps.server_volumes.attach(ctx, inst.uuid, vol.id, ec2_device=device,
                                        delete_on_termination=False)
        vol_id = self.views.volume_ids([vol])[vol.id]
        instance_id = self.instances.ec2_ids([inst])[inst.uuid]
        return {"VolumeId": vol_id, "InstanceId": instance_id, "Device": device,
                "State": "attaching", "AttachTime": iso8601(utcnow()),
                "DeleteOnTermination": False}

    @action("DetachVolume", rules=(DETACH,))
    def detach_volume(self, call: Call) -> dict[str, Any]:
        """The instance and device are checked when given; ``Force`` is accepted
        and does what a detach does."""
        ctx = call.ctx
        vol = self.volume(ctx, call.get("VolumeId", ""))
        atts = self.views.attachments_of(ctx, [vol.id])[vol.id]
        if not atts or vol.status not in ("in-use", "attaching", "reserved"):
            raise errors.Conflict(kind="volume", id=vol.id, state=vol.status)
        att = atts[0]
        instance_ids = self.deps.ids.existing(Kind.INSTANCE, [a.instance_uuid or ""
                                                              for a in atts])
        wanted = call.get("InstanceId")
        if wanted:
            (inst,) = self.instances.find(ctx, [wanted])
            match = [a for a in atts if a.instance_uuid == inst.uuid]
            if not match:
                raise Ec2Error("IncorrectState", f"Volume '{call.get('VolumeId')}' is not "
                                                 f"attached to instance '{wanted}'.")
            att = match[0]
        device = call.get("Device")
        if device and device not in (att.ec2_device, att.mountpoint):
            raise errors.NotFound(kind="volume", id=vol.id, by="device", device=device)
        if att.attach_status != "attached":  # still attaching, or detaching already
            raise errors.Conflict(kind="volume", id=vol.id, state=vol.status)
        self.deps.server_volumes.detach(ctx, att.instance_uuid or "", vol.id)
        vol_id = self.views.volume_ids([vol])[vol.id]
        return {"VolumeId": vol_id, "InstanceId": instance_ids.get(att.instance_uuid or ""),
                "Device": att.ec2_device or att.mountpoint, "State": "detaching",
                "AttachTime": iso8601(att.attached_at or att.created_at),
                "DeleteOnTermination": bool(att.delete_on_termination)}

    # ---- ModifyVolume -----------------------------------------------------------------
    @action("ModifyVolume", rules=(EXTEND,))
    def modify_volume(self, call: Call) -> dict[str, Any]:
        """A bigger size (Cinder's extend, in use too); the type, IOPS and
        throughput stay as they are."""
        ctx = call.ctx
        vol = self.volume(ctx, call.get("VolumeId", ""))
        types = self.views.type_names([vol])
        current_type = types.get(vol.volume_type_id, vol.volume_type_id)
        wanted_type = call.get("VolumeType")
        if wanted_type and wanted_type != current_type and \
                cinder_type(self.deps, ctx, wanted_type) is not None:
            raise Ec2Error("InvalidParameterValue", "Changing the volume type is not "
                                                    "supported by this cloud.")
        for unsupported in ("Iops", "Throughput", "MultiAttachEnabled"):
            if call.get(unsupported) is not None:
                raise Ec2Error("InvalidParameterValue", f"Modifying {unsupported} is not "
                                                        "supported by this cloud.")
        size = call.get("Size")
        if size is None:
            raise Ec2Error("MissingParameter", "The request must contain the parameter size")
        check_size(size)
        if size < vol.size:
            raise Ec2Error("InvalidParameterValue",
                           f"New size ({size}) cannot be smaller than the volume's "
                           f"({vol.size}).")
        if size == vol.size:
            raise Ec2Error("InvalidParameterValue",
                           "New size must be larger than the current size.")
        self.deps.volumes.volumes.extend(ctx, vol.id, size, allow_in_use=True)
        vol_id = self.views.volume_ids([vol])[vol.id]
        return {"VolumeModification": {
            "VolumeId": vol_id, "ModificationState": "modifying", "TargetSize": size,
            "OriginalSize": vol.size, "TargetVolumeType": current_type,
            "OriginalVolumeType": current_type, "TargetMultiAttachEnabled": vol.multiattach,
            "OriginalMultiAttachEnabled": vol.multiattach, "Progress": 0,
            "StartTime": iso8601(vol.updated_at or vol.created_at)}}

    # ---- status and attributes --------------------------------------------------------
    @action("DescribeVolumeStatus", rules=(LIST,))
    def describe_volume_status(self, call: Call) -> dict[str, Any]:
        """``ok`` once a volume is usable, ``impaired`` in error,
        ``insufficient-data`` while it is being made."""
        ctx = call.ctx
        wanted = call.get("VolumeIds", [])
        max_results = call.get("MaxResults")
        reject_ids_with_max_results(wanted, max_results, "volumeIds")
        check_max_results(max_results)
        vols = self._wanted(ctx, wanted) if wanted else self.own(ctx)
        ids = self.views.volume_ids(vols)
        items: list[dict[str, Any]] = []
        for vol in vols:
            if vol.status.startswith("error"):
                status, io = "impaired", "failed"
            elif vol.status in ("creating", "downloading"):
                status, io = "insufficient-data", "insufficient-data"
            else:
                status, io = "ok", "passed"
            items.append({"VolumeId": ids[vol.id], "AvailabilityZone": vol.availability_zone,
                          "VolumeStatus": {"Status": status, "Details": [
                              {"Name": "io-enabled", "Status": io},
                              {"Name": "io-performance", "Status": "not-applicable"}]},
                          "Actions": [], "Events": []})
        items = STATUS_FILTERS.apply(items, call.get("Filters"))
        items.sort(key=lambda v: v["VolumeId"])
        chunk, token = page(items, lambda v: v["VolumeId"], max_results,
                            call.get("NextToken"))
        return {"VolumeStatuses": chunk, "NextToken": token}

    @action("DescribeVolumeAttribute", rules=(GET,))
    def describe_volume_attribute(self, call: Call) -> dict[str, Any]:
        attribute = call.get("Attribute")
        vol = self.volume(call.ctx, call.get("VolumeId", ""))
        out: dict[str, Any] = {"VolumeId": self.views.volume_ids([vol])[vol.id]}
        if attribute == "autoEnableIO":
            out["AutoEnableIO"] = {"Value": True}
        elif attribute == "productCodes":
            out["ProductCodes"] = []
        else:
            raise Ec2Error("InvalidParameterValue",
                           f"Value ({attribute}) for parameter attribute is invalid.")
        return out
