"""DescribeInstances and DescribeInstanceStatus: read-only views of a
project's servers (DescribeVpcs and DescribeSubnets are in ``vpcs`` and
``subnets``).

A server is an instance under its ``i-…`` ID, grouped by its Nova reservation
(``r-…``). Its EC2 state comes from vm_state, task_state and power_state
(:func:`state_of`). Tags are the server's name (``Name``) and its metadata.
A deleted server stays listed as ``terminated`` for
``ec2_terminated_visible_seconds`` (AWS keeps them about an hour), so that
``instance_terminated`` waiters see it end. Each project's fixed network is
its default VPC, with one default subnet. The lifecycle actions
are in ``instance_actions``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from core import errors
from core.clock import utcnow
from core.compute import states
from core.compute.models import Instance
from core.compute.raw_values import json_value, millis_z, seconds_space
from core.compute.server_listing import ServerQuery
from core.context import RequestContext
from core.dns.names import public_dns_name
from core.idmap.ids import Kind, MalformedId, canonical_id
from gateway.ec2.api import Call, action
from gateway.ec2.errors import Ec2Error
from gateway.ec2.handlers.base import Ec2Deps, Handler
from gateway.ec2.handlers.instance_filters import (
    INSTANCE_FILTERS,
    STATUS_FILTERS,
    database_query,
)
from gateway.ec2.handlers.instance_network import InstanceNetwork, NetView
from gateway.ec2.handlers.network_names import Where
from gateway.ec2.handlers.volume_views import instance_block_devices
from gateway.ec2.paging import page, reject_ids_with_max_results

SERVERS_DETAIL = "os_compute_api:servers:detail"
SERVERS_SHOW = "os_compute_api:servers:show"
LIST_CHUNK = 1000

PENDING = (0, "pending")
RUNNING = (16, "running")
SHUTTING_DOWN = (32, "shutting-down")
TERMINATED = (48, "terminated")
STOPPING = (64, "stopping")
STOPPED = (80, "stopped")


def state_of(inst: Instance) -> tuple[int, str]:
    """EC2's (code, name) of an instance's vm_state and task_state. As ec2-api
    maps Nova's other states: paused and suspended are stopped (not running, not
    gone), rescued is running, soft-deleted is shutting down (on its way to
    terminated, unless restored)."""
    vm, task = inst.vm_state, inst.task_state
    if inst.deleted:
        return TERMINATED
    if task in (states.DELETING, states.SOFT_DELETING) or vm == states.SOFT_DELETED:
        return SHUTTING_DOWN
    if vm in (states.PAUSED_VM, states.SUSPENDED_VM):
        return STOPPED
    if vm == states.BUILDING:
        return PENDING
    if vm in (states.DELETED, states.ERROR):
        return TERMINATED
    if vm in (states.SHELVED, states.SHELVED_OFFLOADED):  # as ec2-api shows them
        return PENDING if task in (states.UNSHELVING, states.SPAWNING) else STOPPED
    if task in (states.SHELVING, states.SHELVING_IMAGE_PENDING_UPLOAD,
                states.SHELVING_IMAGE_UPLOADING):
        return STOPPING
    if vm == states.STOPPED:
        return PENDING if task == states.POWERING_ON else STOPPED
    if vm == states.RESIZED and inst.power_state != states.RUNNING:
        return STOPPED  # a stopped instance's resize, not confirmed yet
    if task == states.POWERING_OFF:
        return STOPPING
    if task == states.SPAWNING:
        return PENDING
    return RUNNING


def wire_time(when: datetime) -> str:
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}Z"


def state_wire(state: tuple[int, str]) -> dict[str, Any]:
    return {"Code": state[0], "Name": state[1]}


def private_dns(address: str | None, region: str) -> str:
    if not address:
        return ""
    return f"ip-{address.replace('.', '-')}.{region}.compute.internal"



def order_key(view: Mapping[str, Any]) -> str:
    """Instances in reservation and launch order; pages key on it."""
    return f"{view['_reservation']}/{view['AmiLaunchIndex']:06d}/{view['InstanceId']}"


def check_max_results(value: int | None, low: int) -> None:
    if value is not None and not low <= value <= 1000:
        raise Ec2Error("InvalidParameterValue",
                       f"Value ( {value} ) for parameter maxResults is invalid. "
                       f"Expecting a value between {low} and 1000.")


class Instances(Handler):
    def __init__(self, deps: Ec2Deps) -> None:
        super().__init__(deps)
        self.network = InstanceNetwork(deps)

    # ---- lookups -------------------------------------------------------
    def _visible_since(self) -> datetime:
        """Instances deleted before this are gone from EC2's view too."""
        return utcnow() - timedelta(seconds=self.deps.settings.ec2_terminated_visible_seconds)

    def _own(self, ctx: RequestContext, query: ServerQuery | None = None) -> list[Any]:
        """Every server of the caller's project, the recently terminated too, as
        plain rows (core/compute/server_rows.py); ``query``: narrowed by filters
        the database can apply (a superset of what the filters pass)."""
        out: list[Any] = []
        query = query or ServerQuery()
        query.project_id, query.limit = ctx.project_id, LIST_CHUNK
        query.deleted_since = self._visible_since()
        while True:
            page = self.deps.servers.list_page(ctx, query, True, tags=False, attached=False)
            out.extend(page.rows)
            if not page.more or not page.rows:
                return out
            query.marker = page.rows[-1].uuid

    def _by_id(self, ctx: RequestContext, wanted: Sequence[str]) -> list[Instance]:
        """The caller's instances named by ``wanted`` (all, or InvalidInstanceID.*),
        the recently terminated too."""
        ids = list(dict.fromkeys(canonical_id(Kind.INSTANCE, v) for v in wanted))
        uuids = self.deps.ids.os_uuids_for(Kind.INSTANCE, ids)  # unknown ones: missing
        found: list[Instance] = []
        missing: list[str] = []
        since = self._visible_since()
        for ec2_id in ids:
            uuid = uuids.get(ec2_id)
            try:
                if uuid is None:
                    raise errors.NotFound(kind="instance", id=ec2_id)
                inst = self.deps.servers.get(ctx, uuid, SERVERS_SHOW, deleted=True)
                if inst.project_id != ctx.project_id or (
                        inst.deleted and (inst.deleted_at is None or inst.deleted_at < since)):
                    raise errors.NotFound(kind="instance", id=ec2_id)
                found.append(inst)
            except errors.NotFound:
                missing.append(ec2_id)
        if missing:
            raise errors.NotFound(f"{', '.join(missing)} not found", kind="instance",
                                  ids=missing)
        return found

    def _uuids_of(self, values: Sequence[str]) -> dict[str, str]:
        """Server uuids by the instance IDs among ``values`` (a filter's: an
        ill-formed one names nothing, as the filter would match nothing)."""
        ids = []
        for value in values:
            try:
                ids.append(canonical_id(Kind.INSTANCE, value))
            except MalformedId:
                continue
        return self.deps.ids.os_uuids_for(Kind.INSTANCE, ids)

    def find(self, ctx: RequestContext, wanted: Sequence[str]) -> list[Instance]:
        """The instances named by EC2 IDs, as the actions take them: every one
        of the caller's, or MalformedId / NotFound naming the bad ones (so an
        action does nothing unless all are good)."""
        if not wanted:
            raise Ec2Error("MissingParameter",
                           "The request must contain the parameter InstanceId")
        return self._by_id(ctx, wanted)

    def ec2_ids(self, instances: Sequence[Instance]) -> dict[str, str]:
        """EC2 IDs by server uuid."""
        return self.deps.ids.ec2_ids_for(Kind.INSTANCE,
                                         [(i.uuid, i.project_id) for i in instances])

    def security_groups(self, instances: Sequence[Instance]
                        ) -> dict[str, list[dict[str, str | None]]]:
        """Each server's security groups as EC2 GroupIdentifiers: the names Nova
        keeps and the groups' ``sg-`` IDs (none for a group deleted since)."""
        ids: dict[tuple[str, str], str] = {}
        for project in {i.project_id for i in instances}:
            names = {str(g) for i in instances if i.project_id == project
                     for g in (json_value(i.security_groups) or [])}
            ids.update(((project, n), sg_id) for n, sg_id in
                       self.deps.security_groups.ec2_ids_by_name(project, names).items())
        # a VPC's own default group is "default" to EC2 (its real name is the VPC's ID)
        uuids = self.deps.ids.os_uuids_for(Kind.SECURITY_GROUP, list(set(ids.values())))
        places = self.deps.vpc.security_groups.places(uuids.values())
        defaults = {sg_id for sg_id, u in uuids.items() if u in places and places[u].is_default}

        def shown(project: str, name: str) -> dict[str, str | None]:
            sg_id = ids.get((project, name))
            return {"GroupName": "default" if sg_id in defaults else name, "GroupId": sg_id}
        return {i.uuid: [shown(i.project_id, str(g)) for g in (json_value(i.security_groups) or [])]
                for i in instances}

    def _image_ids(self, ctx: RequestContext, refs: set[str]) -> dict[str, str]:
        ids = self.deps.ids.existing(Kind.IMAGE, refs)
        for ref in refs - set(ids):
            try:
                owner = self.deps.images.show(ctx, ref).image.owner or ""
            except errors.CoreError:
                continue  # an image the caller cannot see (any more)
            ids[ref] = self.deps.ids.ec2_id_for(Kind.IMAGE, ref, owner)
        return ids

    def _views(self, ctx: RequestContext, instances: list[Instance],
               fresh: bool = False, where: Where | None = None) -> list[dict[str, Any]]:
        """The instances as DescribeInstances writes them (``Instance`` shapes),
        each with its reservation id and owner (account id) under private keys. ``fresh``:
        instances just recorded, which have no addresses yet (the conductor
        gives them theirs once a host is chosen), so none are read; ``where``:
        the subnet they asked for, when the caller knows it."""
        if not instances:
            return []
        deps = self.deps
        instance_ids = deps.ids.ec2_ids_for(Kind.INSTANCE,
                                            [(i.uuid, i.project_id) for i in instances])
        reservations = deps.ids.ec2_ids_for(
            Kind.RESERVATION, [(i.reservation_id, i.project_id) for i in instances])
        images = self._image_ids(ctx, {i.image_ref for i in instances if i.image_ref})
        owners = self.accounts({i.project_id for i in instances})
        networks = self.network.of(ctx, instances, instance_ids, fresh, where)
        groups = self.security_groups(instances)
        faults = deps.servers.faults_of(instances)
        # just recorded: no volume is attached yet (the conductor makes them)
        devices = {} if fresh else instance_block_devices(deps, instances)
        region = deps.settings.region
        zone = deps.settings.default_availability_zone
        out = []
        for inst in instances:
            code, name = state_of(inst)
            net = networks.get(inst.uuid) or NetView()
            ip = net.private_ip
            instance_id = instance_ids[inst.uuid]
            tags = {str(k): str(v) for k, v in (json_value(inst.metadata_items) or {}).items()}
            # An instance launched through EC2 without a Name tag is named by its ID.
            if inst.display_name and inst.display_name != instance_id:
                tags["Name"] = inst.display_name
            reason, transition = self._reason(inst, faults)
            launched = inst.launched_at or inst.created_at
            project = inst.project_id
            public_ip = net.public_ip
            mappings, root = devices.get(inst.uuid) or ([], None)
            out.append({
                "_reservation": reservations[inst.reservation_id], "_owner": owners[project],
                "InstanceId": instance_id,
                "ImageId": images.get(inst.image_ref or ""),
                "State": {"Code": code, "Name": name},
                "PrivateDnsName": private_dns(ip, region),
                "PublicDnsName": public_dns_name(public_ip, deps.settings.ec2_public_domain),
                "PublicIpAddress": public_ip,
                "StateTransitionReason": transition,
                "ClientToken": inst.client_token,
                "KeyName": inst.key_name,
                "AmiLaunchIndex": inst.launch_index or 0,
                "InstanceType": (json_value(inst.flavor) or {}).get("name"),
                "LaunchTime": millis_z(launched),
                "Placement": {"AvailabilityZone": inst.availability_zone or zone,
                              "Tenancy": "default", "GroupName": ""},
                "Monitoring": {"State": "disabled"},
                "PrivateIpAddress": ip,
                "VpcId": net.vpc_id, "SubnetId": net.subnet_id,
                "NetworkInterfaces": net.interfaces,
                "SourceDestCheck": all(n["SourceDestCheck"] for n in net.interfaces),
                "Architecture": "x86_64", "RootDeviceType": "ebs" if root else "instance-store",
                "RootDeviceName": root or "/dev/sda1", "Hypervisor": "xen",
                "VirtualizationType": "hvm", "BlockDeviceMappings": mappings,
                "SecurityGroups": groups.get(inst.uuid, []),
                "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())],
                "StateReason": reason,
            })
        return out

    @staticmethod
    def _reason(inst: Instance, faults: Mapping[str, Any]
                ) -> tuple[dict[str, str] | None, str]:
        """stateReason and stateTransitionReason, as AWS words them."""
        if inst.vm_state == states.ERROR:
            fault = faults.get(inst.uuid)
            return {"Code": "Server.InternalError",
                    "Message": fault.message if fault else "Instance failed to launch."}, ""
        if inst.deleted or inst.vm_state == states.STOPPED:
            when = seconds_space(inst.deleted_at if inst.deleted else inst.updated_at)
            stamp = f" ({when} GMT)" if when else ""
            return {"Code": "Client.UserInitiatedShutdown",
                    "Message": "Client.UserInitiatedShutdown: User initiated shutdown"}, \
                f"User initiated{stamp}"
        return None, ""

    def views(self, ctx: RequestContext, instances: list[Instance]) -> list[dict[str, Any]]:
        """The instances as EC2 ``Instance`` shapes, private keys removed."""
        out = self._views(ctx, instances)
        for view in out:
            view.pop("_reservation")
            view.pop("_owner")
        return out

    def reservation(self, ctx: RequestContext, reservation_id: str,
                    instances: list[Instance], where: Where | None = None) -> dict[str, Any]:
        """RunInstances' answer: the reservation (Nova's id) and its instances
        (``pending``, with no address yet, unless a ClientToken replay returns
        older ones)."""
        fresh = all(i.vm_state == states.BUILDING and i.host is None for i in instances)
        views = sorted(self._views(ctx, instances, fresh, where), key=order_key)
        rid = views[0]["_reservation"] if views else self.deps.ids.ec2_ids_for(
            Kind.RESERVATION, [(reservation_id, ctx.project_id or "")])[reservation_id]
        for view in views:
            view.pop("_reservation")
            view.pop("_owner")
        return {"ReservationId": rid, "OwnerId": self.account(ctx.project_id), "Groups": [],
                "Instances": views}

    # ---- DescribeInstances --------------------------------------------
    @action("DescribeInstances", rules=(SERVERS_DETAIL,))
    def describe_instances(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        wanted = call.get("InstanceIds", [])
        max_results = call.get("MaxResults")
        reject_ids_with_max_results(wanted, max_results, "instanceIds")
        check_max_results(max_results, 5)
        filters = call.get("Filters")
        instances = self._by_id(ctx, wanted) if wanted else self._own(
            ctx, database_query(filters, self._uuids_of))
        views = self._views(ctx, instances)
        views = INSTANCE_FILTERS.apply(views, self.owner_filters(filters))
        views.sort(key=order_key)
        chunk, token = page(views, order_key, max_results, call.get("NextToken"))
        reservations: dict[str, dict[str, Any]] = {}
        for view in chunk:
            rid, owner = view.pop("_reservation"), view.pop("_owner")
            group = reservations.setdefault(rid, {"ReservationId": rid, "OwnerId": owner,
                                                  "Groups": [], "Instances": []})
            group["Instances"].append(view)
        return {"Reservations": list(reservations.values()), "NextToken": token}

    # ---- DescribeInstanceStatus --------------------------------------
    @action("DescribeInstanceStatus", rules=(SERVERS_DETAIL,))
    def describe_instance_status(self, call: Call) -> dict[str, Any]:
        """Running instances' status checks (every instance with
        IncludeAllInstances): ``ok`` once running on a host that is up,
        ``impaired`` on a host that is down, ``initializing`` while pending."""
        ctx = call.ctx
        wanted = call.get("InstanceIds", [])
        max_results = call.get("MaxResults")
        reject_ids_with_max_results(wanted, max_results, "instanceIds")
        check_max_results(max_results, 5)
        filters = call.get("Filters")
        instances = self._by_id(ctx, wanted) if wanted else self._own(
            ctx, database_query(filters, self._uuids_of))
        hosts = self.deps.servers.host_states({i.host for i in instances if i.host})
        ids = self.ec2_ids(instances)
        zone = self.deps.settings.default_availability_zone
        statuses: list[dict[str, Any]] = []
        for inst in instances:
            state = state_of(inst)
            if state != RUNNING and not call.get("IncludeAllInstances"):
                continue
            if state == RUNNING:
                up = hosts.get(inst.host or "") == "UP"
                check = "ok" if up else "impaired"
                detail = "passed" if up else "failed"
            elif state == PENDING and inst.vm_state == states.BUILDING:
                check, detail = "initializing", "initializing"
            else:
                check, detail = "not-applicable", None
            summary: dict[str, Any] = {"Status": check}
            if detail:
                summary["Details"] = [{"Name": "reachability", "Status": detail}]
            statuses.append({"InstanceId": ids[inst.uuid],
                             "AvailabilityZone": inst.availability_zone or zone,
                             "InstanceState": state_wire(state),
                             "InstanceStatus": summary, "SystemStatus": dict(summary),
                             "Events": []})
        statuses = STATUS_FILTERS.apply(statuses, filters)
        statuses.sort(key=lambda v: v["InstanceId"])
        chunk, token = page(statuses, lambda v: v["InstanceId"], max_results,
                            call.get("NextToken"))
        return {"InstanceStatuses": chunk, "NextToken": token}
