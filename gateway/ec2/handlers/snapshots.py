"""EBS snapshots over Cinder's volume snapshots: CreateSnapshot,
CreateSnapshots, CopySnapshot (within this cloud's one region), DescribeSnapshots,
DeleteSnapshot and Describe/ModifySnapshotAttribute.

A snapshot is shown under its ``snap-`` ID: ``pending`` while Cinder makes
it, ``completed`` once available. A snapshot of a volume in use is allowed,
as in AWS (Cinder's ``force``). Snapshots are the project's own: they are not
shared with other accounts (``createVolumePermission`` lists none and
ModifySnapshotAttribute refuses to add any).
"""

from __future__ import annotations

from typing import Any

from core import errors
from core.context import RequestContext
from core.idmap.ids import Kind
from core.tagging.rules import Resource, check_tags
from core.volume.models import Snapshot, Volume
from gateway.ec2.api import Call, action
from gateway.ec2.errors import Ec2Error
from gateway.ec2.handlers import block_lookup
from gateway.ec2.handlers.base import Ec2Deps, Handler
from gateway.ec2.handlers.instances import Instances
from gateway.ec2.handlers.tags import tag_specifications
from gateway.ec2.handlers.volume_views import SNAPSHOT_FILTERS, VolumeViews
from gateway.ec2.handlers.volumes import Volumes, check_max_results
from gateway.ec2.paging import page, reject_ids_with_max_results

CREATE = "volume:create_snapshot"
GET = "volume:get_snapshot"
LIST = "volume:get_all_snapshots"
DELETE = "volume:delete_snapshot"
UPDATE = "volume:update_snapshot"
SNAPSHOTTABLE = ("available", "in-use")


class Snapshots(Handler):
    def __init__(self, deps: Ec2Deps) -> None:
        super().__init__(deps)
        self.views = VolumeViews(deps)
        self.volumes = Volumes(deps)
        self.instances = Instances(deps)

    # ---- lookups ----------------------------------------------------------------
    def snapshot(self, ctx: RequestContext, ec2_id: str) -> Snapshot:
        """One of the caller's snapshots by ``snap-`` ID."""
        return block_lookup.one(self, ctx, Kind.SNAPSHOT, ec2_id,
                                self.deps.volumes.snapshots.get, "SnapshotId", "snapshot")

    def own(self, ctx: RequestContext) -> list[Snapshot]:
        return block_lookup.every(self.deps.volumes.snapshots.list, ctx)

    def _wanted(self, ctx: RequestContext, wanted: list[str]) -> list[Snapshot]:
        return block_lookup.named(self, ctx, Kind.SNAPSHOT, wanted,
                                  self.deps.volumes.snapshots.get, "snapshot")

    def _create(self, ctx: RequestContext, vol: Volume, description: str | None,
                tags: dict[str, str]) -> Snapshot:
        if vol.status not in SNAPSHOTTABLE:
            raise errors.Conflict(kind="volume", id=vol.id, state=vol.status)
        snap = self.deps.volumes.snapshots.create(ctx, vol.id, name=None,
                                                  description=description, metadata=None,
                                                  force=True)
        snap_id = self.deps.ids.ec2_id_for(Kind.SNAPSHOT, snap.id, snap.project_id)
        if tags:
            self.deps.tags.create(ctx, [Resource(Kind.SNAPSHOT, snap_id, snap.id)], tags)
        return snap

    # ---- actions -------------------------------------------------------------------
    @action("CreateSnapshot", rules=(CREATE,))
    def create_snapshot(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        vol = self.volumes.volume(ctx, call.get("VolumeId", ""))
        tags = tag_specifications(call, "snapshot")
        check_tags(tags)
        snap = self._create(ctx, vol, call.get("Description"), tags)
        return self.views.snapshots(ctx, [snap])[0]

    @action("CreateSnapshots", rules=(CREATE,))
    def create_snapshots(self, call: Call) -> dict[str, Any]:
        """A snapshot of each volume attached to an instance (the boot volume
        and those in ``ExcludeDataVolumeIds`` left out if asked)."""
        ctx = call.ctx
        spec = call.get("InstanceSpecification") or {}
        (inst,) = self.instances.find(ctx, [spec.get("InstanceId") or ""])
        excluded = set(self.os_ids(Kind.VOLUME, spec.get("ExcludeDataVolumeIds") or [])
                       .values())
        tags = tag_specifications(call, "snapshot")
        check_tags(tags)
        atts = self.deps.volumes.volumes.attachments_of_instance(inst.uuid)
        chosen: list[str] = []
        for att in atts:
            if att.attach_status == "detached" or att.volume_id in excluded:
                continue
            if spec.get("ExcludeBootVolume") and att.boot_index == 0:
                continue
            if att.volume_id not in chosen:
                chosen.append(att.volume_id)
        vols = [self.deps.volumes.volumes.get(ctx, v) for v in chosen]
        copy_tags = call.get("CopyTagsFromSource") == "volume"
        volume_tags = self.views.volumes(ctx, vols) if copy_tags else []
        snaps = []
        for i, vol in enumerate(vols):
            own = dict(tags)
            if copy_tags:
                own = {t["Key"]: t["Value"] for t in volume_tags[i]["Tags"]} | own
            snaps.append(self._create(ctx, vol, call.get("Description"), own))
        views = self.views.snapshots(ctx, snaps)
        keep = ("Description", "Tags", "Encrypted", "VolumeId", "State", "VolumeSize",
                "StartTime", "Progress", "OwnerId", "SnapshotId")
        return {"Snapshots": [{k: v[k] for k in keep if k in v} for v in views]}

    @action("CopySnapshot", rules=(CREATE,))
    def copy_snapshot(self, call: Call) -> dict[str, Any]:
        """A copy of one of the caller's completed snapshots, in this region
        (the one region: another as source or destination is refused). boto3
        adds a presigned URL for the source region: not needed here, ignored."""
        ctx = call.ctx
        region = self.deps.settings.region
        if not call.get("SourceRegion"):
            raise Ec2Error("MissingParameter", "The request must contain the parameter "
                                               "SourceRegion")
        for param in ("SourceRegion", "DestinationRegion"):
            named = call.get(param)
            if named is not None and named != region:
                raise Ec2Error("InvalidParameterValue",
                               f"Value ({named}) for parameter {param[0].lower()}"
                               f"{param[1:]} is invalid. This cloud has one region, "
                               f"{region}.")
        for unsupported in ("Encrypted", "KmsKeyId", "DestinationOutpostArn",
                            "DestinationAvailabilityZone"):
            if call.get(unsupported):
                raise Ec2Error("InvalidParameterValue", f"{unsupported} is not supported by "
                                                        "this cloud.")
        source = self.snapshot(ctx, call.get("SourceSnapshotId", ""))
        tags = tag_specifications(call, "snapshot")
        check_tags(tags)
        snap = self.deps.volumes.snapshots.copy(ctx, source.id,
                                                description=call.get("Description"))
        snap_id = self.deps.ids.ec2_id_for(Kind.SNAPSHOT, snap.id, snap.project_id)
        if tags:
            self.deps.tags.create(ctx, [Resource(Kind.SNAPSHOT, snap_id, snap.id)], tags)
        return {"SnapshotId": snap_id,
                "Tags": [{"Key": k, "Value": v} for k, v in tags.items()] or None}

    @action("DescribeSnapshots", rules=(LIST,))
    def describe_snapshots(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        wanted = call.get("SnapshotIds", [])
        max_results = call.get("MaxResults")
        reject_ids_with_max_results(wanted, max_results, "snapshotIds")
        check_max_results(max_results)
        snaps = self._wanted(ctx, wanted) if wanted else self.own(ctx)
        views = self.views.snapshots(ctx, snaps)
        owners = call.get("OwnerIds") or []
        if owners:
            mine = self.account(ctx.project_id)
            accepted = {mine if o == "self" else o for o in owners}
            views = [v for v in views if v["OwnerId"] in accepted
                     or ctx.project_id in accepted]
        views = SNAPSHOT_FILTERS.apply(views, self.owner_filters(call.get("Filters")))
        views.sort(key=lambda v: v["SnapshotId"])
        chunk, token = page(views, lambda v: v["SnapshotId"], max_results,
                            call.get("NextToken"))
        return {"Snapshots": chunk, "NextToken": token}

    @action("DeleteSnapshot", rules=(DELETE,))
    def delete_snapshot(self, call: Call) -> None:
        ctx = call.ctx
        snap = self.snapshot(ctx, call.get("SnapshotId", ""))
        self.deps.volumes.snapshots.delete(ctx, snap.id)
        return None

    @action("DescribeSnapshotAttribute", rules=(GET,))
    def describe_snapshot_attribute(self, call: Call) -> dict[str, Any]:
        attribute = call.get("Attribute")
        snap = self.snapshot(call.ctx, call.get("SnapshotId", ""))
        snap_id = self.deps.ids.ec2_id_for(Kind.SNAPSHOT, snap.id, snap.project_id)
        if attribute == "createVolumePermission":
            return {"SnapshotId": snap_id, "CreateVolumePermissions": []}
        if attribute == "productCodes":
            return {"SnapshotId": snap_id, "ProductCodes": []}
        raise Ec2Error("InvalidParameterValue",
                       f"Value ({attribute}) for parameter attribute is invalid.")

    @action("ModifySnapshotAttribute", rules=(UPDATE,))
    def modify_snapshot_attribute(self, call: Call) -> None:
        """Removing permissions (there are none) is accepted; adding the
        caller's own account changes nothing; sharing with others is refused."""
        ctx = call.ctx
        self.snapshot(ctx, call.get("SnapshotId", ""))
        attribute = call.get("Attribute") or "createVolumePermission"
        if attribute != "createVolumePermission":
            raise Ec2Error("InvalidParameterValue",
                           f"Value ({attribute}) for parameter attribute is invalid.")
        perms = call.get("CreateVolumePermission") or {}
        adding = list(perms.get("Add") or [])
        if call.get("OperationType") == "add":
            adding += [{"UserId": u} for u in call.get("UserIds") or []]
            adding += [{"Group": g} for g in call.get("GroupNames") or []]
        mine = {self.account(ctx.project_id), ctx.project_id}
        for perm in adding:
            if perm.get("Group") or perm.get("UserId") not in mine:
                raise Ec2Error("InvalidParameterValue", "Sharing snapshots with other "
                                                        "accounts is not supported by this "
                                                        "cloud.")
        return None
