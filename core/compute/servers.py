"""The server (instance) API of the compute service: create, read, update, delete,
metadata and tags. Actions are in ``server_actions``; the long flows run in the
conductor, which this casts to.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import DataError, IntegrityError

from core import errors
from core.compute import image_meta, server_listing, server_rows, states
from core.compute.access_ips import canonical_ipv6
from core.compute.boot_checks import BootChecks
from core.compute.boot_request import (
    BootRequest,
    IdempotentMismatch,
    IdempotentTerminated,
    hostname_for,
    new_reservation_id,
    target_of,
)
from core.compute.boot_volumes import BootVolumes
from core.compute.flavors import FlavorService
from core.compute.hosts import service_is_up
from core.compute.instance_store import InstanceStore, not_found
from core.compute.models import ComputeService, Instance, InstanceAction, InstanceTag
from core.compute.notifications import Notifier
from core.compute.rpcapi import ConductorClient
from core.compute.server_groups import ServerGroupService
from core.context import RequestContext
from core.db import Database
from core.db.base import new_uuid, utcnow
from core.idmap.ids import Kind, mint_kinds
from core.network.instance_ports import Address, InstanceNetworking
from core.network.security_groups import SecurityGroupService
from core.policy import PolicyEnforcer
from core.quota.service import QuotaService
from core.settings import Settings

MAX_TAGS = 50
# A resize holds quota for its new flavor (new_flavor) while in these tasks.
RESIZING = (states.RESIZE_PREP, states.RESIZE_MIGRATING)
TAG_RE = re.compile(r"^[^,/]{1,60}$")


class ServerService:
    """Servers' records: create (checked, quota reserved, handed to the
    conductor), read, update, delete, metadata and tags."""

    def __init__(self, settings: Settings, db: Database, policy: PolicyEnforcer, *,
                 store: InstanceStore, checks: BootChecks, flavors: FlavorService,
                 quotas: QuotaService, server_groups: ServerGroupService, ipam: InstanceNetworking,
                 security_groups: SecurityGroupService, conductor: ConductorClient,
                 notifier: Notifier, boot_volumes: BootVolumes | None = None) -> None:
        self.settings = settings
        self.boot_volumes = boot_volumes or BootVolumes(None)
        self.db = db
        self.policy = policy
        self.store = store
        self.checks = checks
        self.flavors = flavors
        self.quotas = quotas
        self.groups = server_groups
        self.ipam = ipam
        self.security_groups = security_groups
        self.conductor = conductor
        self.notifier = notifier

    # ==== reading ==========================================================
    def get(self, ctx: RequestContext, uuid: str, rule: str = "os_compute_api:servers:show",
            deleted: bool = False) -> Instance:
        """The instance if the caller's project owns it (or the caller is an admin) and
        policy ``rule`` allows; another project's instance is simply not found."""
        inst = self.find(ctx, uuid, deleted)
        self.policy.enforce(rule, target_of(inst), ctx)
        return inst

    def find(self, ctx: RequestContext, uuid: str, deleted: bool = False) -> Instance:
        """The instance if the caller may know it exists (no rule checked)."""
        inst = self.store.get(uuid, deleted=deleted)
        if not ctx.is_admin and inst.project_id != ctx.project_id:
            raise not_found(uuid)
        return inst

    def list_servers(self, ctx: RequestContext, query: server_listing.ServerQuery,
             detail: bool) -> tuple[list[Instance], bool]:
        """One page of the servers ``query`` selects, as ORM records."""
        return self._listed(ctx, query, detail, server_listing.page)

    def list_page(self, ctx: RequestContext, query: server_listing.ServerQuery,
                  detail: bool, tags: bool = True,
                  attached: bool = True) -> server_rows.ServerPage:
        """One page as plain rows with what their views show of other tables
        (server_rows.read_page): the list views' fast path."""
        return self._listed(ctx, query, detail, lambda s, q: server_rows.read_page(
            s, q, tags=tags, attached=attached))

    def _listed(self, ctx: RequestContext, query: server_listing.ServerQuery, detail: bool,
                read: Any) -> Any:
        rule = "os_compute_api:servers:detail" if detail else "os_compute_api:servers:index"
        self.policy.enforce(rule, {"project_id": ctx.project_id, "user_id": ctx.user_id}, ctx)
        try:
            with self.db.session() as s:
                return read(s, query)
        except DataError:
            # PostgreSQL's regular expressions are not Python's: a pattern Python
            # compiles may still be refused there (SQLSTATE 2201B).
            if query.name or query.ip or query.matches:
                raise errors.InvalidInput("Invalid regular expression in a filter.") from None
            raise

    def addresses(self, uuids: list[str]) -> dict[str, list[Address]]:
        return self.ipam.addresses_with_floating(uuids)

    def tags_of(self, uuids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {u: [] for u in uuids}
        if uuids:
            with self.db.session() as s:
                for row in s.execute(select(InstanceTag.instance_uuid, InstanceTag.tag)
                                     .where(InstanceTag.instance_uuid.in_(uuids))
                                     .order_by(InstanceTag.tag)):
                    out[row.instance_uuid].append(row.tag)
        return out

    def by_client_token(self, project_id: str, token: str) -> list[Instance]:
        """The instances one RunInstances with ``token`` made, in launch order."""
        with self.db.session() as s:
            return list(s.scalars(select(Instance).where(
                Instance.project_id == project_id, Instance.client_token == token)
                .order_by(Instance.launch_index)))

    def _replay(self, ctx: RequestContext, req: BootRequest
                ) -> tuple[str, list[Instance]] | None:
        """The earlier answer to a request with the same client token, if any."""
        if not req.client_token:
            return None
        prior = self.by_client_token(ctx.project_id or "", req.client_token)
        if not prior:
            return None
        if prior[0].request_hash != req.request_hash:
            raise IdempotentMismatch()
        if all(i.deleted for i in prior):
            raise IdempotentTerminated()
        return prior[0].reservation_id, prior

    def faults_of(self, instances: list[Instance]) -> dict:
        shown = [i.uuid for i in instances if i.vm_state in (states.ERROR, states.DELETED)]
        return self.store.latest_faults(shown)

    def host_states(self, hosts: set[str]) -> dict[str, str]:
        """Nova's host_status (UP, DOWN, MAINTENANCE, UNKNOWN) of each host."""
        if not hosts:
            return {}
        out = {h: "UNKNOWN" for h in hosts}
        with self.db.session() as s:
            for svc in s.scalars(select(ComputeService).where(
                    ComputeService.host.in_(hosts), ComputeService.binary == "nova-compute")):
                if not service_is_up(svc, self.settings.service_down_time):
                    out[svc.host] = "DOWN"
                elif svc.disabled:
                    out[svc.host] = "MAINTENANCE"
                else:
                    out[svc.host] = "UP"
        return out

    # ==== create ===========================================================
    def create(self, ctx: RequestContext, req: BootRequest) -> tuple[str, list[Instance]]:
        """Check, reserve quota, record the instances and hand them to the conductor.

        Returns the reservation id and the new instances (BUILD / scheduling). With
        a client token seen before in the project, the first call's reservation
        instead (nothing boots), or IdempotentMismatch for a different request."""
        target = {"project_id": ctx.project_id, "user_id": ctx.user_id}
        self.policy.enforce("os_compute_api:servers:create", target, ctx)
        replayed = self._replay(ctx, req)
        if replayed is not None:
            return replayed
        if req.min_count < 1 or req.max_count < req.min_count:
            raise errors.InvalidInput("min_count must be <= max_count")
        if req.hostname and req.max_count > 1:
            raise errors.InvalidInput("Unable to allow requested hostname when creating "
                                      "multiple instances.", param="hostname")
        self._check_tags(req.tags)
        zone, force_host = self.checks.zone(ctx, req.availability_zone, target)
        destination = self.checks.destination(ctx, req.requested_host, req.requested_node,
                                              target)
        flavor = self.checks.flavor(ctx, req.flavor_ref, req.flavor_by_name)
        image = self.boot_volumes.boot_image(ctx, req.block_devices, req.image_ref, flavor,
                                             self.checks, req.max_count)
        if req.trusted_certs and not image["id"]:
            raise errors.InvalidInput("Image certificate validation is not supported when "
                                      "booting from volume", param="trusted_image_certificates")
        key_name, key_data = self.checks.key(ctx, req.key_name)
        self.checks.check_metadata(req.metadata)
        user_data = self.checks.user_data(req.user_data)
        hints = self.checks.hints(req.scheduler_hints)
        req.security_groups = self.security_groups.prepare_boot(ctx.project_id or "",
                                                                req.security_groups)
        requested = self.ipam.resolve(ctx, req.networks, req.max_count)
        snapshot = self.flavors.to_snapshot(flavor)
        reservation_id = new_reservation_id()
        try:
            instances = self._record(ctx, req, zone, image, key_name, key_data, user_data,
                                     hints, snapshot, reservation_id, requested)
        except IntegrityError:
            # Another call with the same client token committed first: its answer.
            replayed = self._replay(ctx, req)
            if replayed is None:
                raise
            return replayed
        spec = self.request_spec(ctx.project_id or "", ctx.user_id or "", snapshot, image,
                                 zone, force_host, hints, [i.uuid for i in instances])
        spec["block_devices"] = [d.message() for d in req.block_devices if d.is_volume]
        spec["requested_host"], spec["requested_node"] = destination
        self.conductor.build_instances([i.uuid for i in instances], spec)
        return reservation_id, instances

    def _record(self, ctx: RequestContext, req: BootRequest, zone: str | None, image: dict,
                key_name: str | None, key_data: str | None, user_data: str | None,
                hints: dict, snapshot: dict, reservation_id: str,
                requested: list[dict]) -> list[Instance]:
        """Reserve quota and write the instances (and their EC2 IDs) in one transaction."""
        instances: list[Instance] = []
        system_metadata: dict[str, Any] = dict(image_meta.from_image(image, snapshot))
        if req.trusted_certs:  # 2.63; shown by the view, checked by no driver here
            system_metadata["trusted_image_certificates"] = list(req.trusted_certs)
        with self.db.session() as s:
            count = self._reserve(s, ctx, snapshot, req.min_count, req.max_count)
            self.security_groups.hold_for_boot(s, ctx.project_id or "", req.security_groups)
            # EC2 IDs (i-… each, r-… for Nova's reservation id) in the same
            # transaction, so that no EC2 describe has to write; first, so that an
            # unnamed EC2 instance is inserted with its name.
            project = ctx.project_id or ""
            uuids = [new_uuid() for _ in range(count)]
            ec2_ids = mint_kinds(s, {Kind.INSTANCE: [(u, project) for u in uuids],
                                     Kind.RESERVATION: [(reservation_id, project)]})
            for index, uuid in enumerate(uuids):
                if req.ec2_names and not req.name:
                    # As ec2-api named them: an unnamed EC2 instance is called by its ID.
                    name = ec2_ids[Kind.INSTANCE][uuid]
                    hostname = hostname_for(req.hostname or name)
                else:
                    name = req.name if req.ec2_names or count == 1 else f"{req.name}-{index + 1}"
                    hostname = req.hostname or hostname_for(name)
                inst = Instance(
                    uuid=uuid, display_name=name, description=req.description,
                    hostname=hostname, project_id=ctx.project_id,
                    user_id=ctx.user_id, image_ref=image["id"], flavor=snapshot,
                    flavorid=snapshot["flavorid"], vcpus=snapshot["vcpus"],
                    memory_mb=snapshot["memory_mb"], root_gb=snapshot["root_gb"],
                    vm_state=states.BUILDING, task_state=states.SCHEDULING,
                    power_state=states.NOSTATE, requested_availability_zone=zone,
                    availability_zone=zone, key_name=key_name, key_data=key_data,
                    user_data=user_data, metadata_items=dict(req.metadata),
                    security_groups=list(req.security_groups), scheduler_hints=hints,
                    requested_networks=requested, reservation_id=reservation_id,
                    system_metadata=system_metadata, launch_index=index,
                    config_drive="True" if req.config_drive else "",
                    access_ip_v4=req.access_ip_v4, access_ip_v6=canonical_ipv6(req.access_ip_v6),
                    quota_held=True, client_token=req.client_token,
                    request_hash=req.request_hash if req.client_token else None)
                s.add(inst)
                s.flush()
                for tag in dict.fromkeys(req.tags):
                    s.add(InstanceTag(instance_uuid=inst.uuid, tag=tag))
                if hints.get("group"):
                    try:
                        self.groups.add_member(s, hints["group"], inst.uuid,
                                               ctx.project_id or "")
                    except errors.NotFound:
                        raise errors.InvalidReference(
                            f"Invalid server group {hints['group']}: it could not be "
                            "found.", kind="server_group", id=hints["group"],
                            param="scheduler_hints") from None
                s.add(InstanceAction(instance_uuid=inst.uuid, action="create",
                                     request_id=ctx.request_id or f"req-{inst.uuid}",
                                     user_id=ctx.user_id, project_id=ctx.project_id))
                instances.append(inst)
        return instances

    @staticmethod
    def request_spec(project_id: str, user_id: str, flavor: dict, image: dict,
                     zone: str | None, force_host: str | None, hints: dict,
                     uuids: list[str]) -> dict:
        return {"project_id": project_id, "user_id": user_id, "instance_uuids": uuids,
                "flavor": {k: flavor.get(k) for k in ("vcpus", "memory_mb", "root_gb",
                                                       "ephemeral_gb", "swap", "extra_specs")},
                "image": image, "availability_zone": zone, "force_host": force_host,
                "scheduler_hints": hints, "ignore_hosts": []}

    def _reserve(self, s, ctx: RequestContext, flavor: dict, min_count: int,
                 max_count: int) -> int:
        """Reserve quota for as many instances as fit between min and max count."""
        project = ctx.project_id or ""
        per = {"instances": 1, "cores": int(flavor["vcpus"]), "ram": int(flavor["memory_mb"])}
        try:
            self.quotas.reserve(s, project, {k: v * max_count for k, v in per.items()})
            return max_count
        except errors.QuotaExceeded:
            if min_count == max_count:
                raise
        limits = self.quotas.limits_for(project)
        usage = self.quotas.usage(project)
        room = max_count
        for key, each in per.items():
            limit = limits.get(key, -1)
            if limit >= 0 and each > 0:
                room = min(room, (limit - usage.get(key, 0)) // each)
        # Below min_count this raises Nova's TooManyInstances for min_count (what
        # the request needed at least), not for max_count.
        count = max(room, min_count)
        self.quotas.reserve(s, project, {k: v * count for k, v in per.items()})
        return count

    # ==== update / delete ===================================================
    def update(self, ctx: RequestContext, uuid: str, changes: dict[str, Any]) -> Instance:
        inst = self.get(ctx, uuid, "os_compute_api:servers:update")
        values: dict[str, Any] = {}
        if "name" in changes:
            values["display_name"] = changes["name"]
        if "description" in changes:
            values["description"] = changes["description"]
        if changes.get("hostname"):  # Nova 2.90+, checked by the edge
            values["hostname"] = changes["hostname"]
        if "accessIPv4" in changes:
            values["access_ip_v4"] = changes["accessIPv4"] or None
        if "accessIPv6" in changes:
            values["access_ip_v6"] = canonical_ipv6(changes["accessIPv6"])
        if not values:
            return inst
        return self.store.update(inst.uuid, values)

    def delete(self, ctx: RequestContext, uuid: str,
               rule: str = "os_compute_api:servers:delete") -> None:
        inst = self.get(ctx, uuid, rule)
        self.check_unlocked(ctx, inst)
        if inst.task_state != states.DELETING:
            with self.db.session() as s:
                inst = self._lock_row(s, uuid)
                if inst.task_state != states.DELETING:
                    self._claim_delete(s, ctx, inst)
            self.notifier.instance(inst, "delete.start")
        self.conductor.delete_instance(inst.uuid)

    def _claim_delete(self, s, ctx: RequestContext, inst: Instance) -> None:
        values: dict[str, Any] = {"task_state": states.DELETING}
        pending = inst.new_flavor if inst.task_state in RESIZING else None
        if pending:
            # The resize in flight stops here (its next step expects its own task),
            # and the delete releases the instance's current flavor only: give back
            # what the resize reserved on top of it.
            values["new_flavor"] = None
            if inst.quota_held:
                self.quotas.release(s, inst.project_id, {
                    "cores": max(0, int(pending["vcpus"]) - int(inst.flavor["vcpus"])),
                    "ram": max(0, int(pending["memory_mb"]) - int(inst.flavor["memory_mb"]))})
        self.store.update(inst.uuid, values, s=s)
        s.add(InstanceAction(instance_uuid=inst.uuid, action="delete",
                             request_id=ctx.request_id or f"req-{inst.uuid}",
                             user_id=ctx.user_id, project_id=ctx.project_id))

    def check_unlocked(self, ctx: RequestContext, inst: Instance) -> None:
        if inst.locked and not ctx.is_admin:
            raise errors.Conflict(f"Instance {inst.uuid} is locked", kind="instance",
                                  id=inst.uuid, state="locked")

    # ==== metadata ==========================================================
    def _lock_row(self, s, uuid: str) -> Instance:
        """The instance, read after its row is locked (by bumping its generation) in
        ``s``'s transaction: concurrent writers of one instance's metadata or tags
        queue here instead of each overwriting what the other just wrote."""
        return self.store.update(uuid, {}, s=s)

    def set_metadata(self, ctx: RequestContext, uuid: str, items: dict[str, str],
                     replace: bool, rule: str) -> dict[str, str]:
        self.get(ctx, uuid, rule)
        with self.db.session() as s:
            inst = self._lock_row(s, uuid)
            self.check_unlocked(ctx, inst)
            if inst.task_state == states.DELETING:
                raise errors.Conflict(f"Cannot 'update metadata' instance {uuid} while it is "
                                      "in task_state deleting", kind="instance", id=uuid,
                                      state=states.DELETING)
            merged = dict(items) if replace else {**(inst.metadata_items or {}), **items}
            self.checks.check_metadata(merged)
            self.store.update(uuid, {"metadata_items": merged}, s=s)
        return merged

    def delete_metadata(self, ctx: RequestContext, uuid: str, key: str) -> None:
        self.get(ctx, uuid, "os_compute_api:server-metadata:delete")
        with self.db.session() as s:
            inst = self._lock_row(s, uuid)
            self.check_unlocked(ctx, inst)
            items = dict(inst.metadata_items or {})
            if key not in items:
                raise errors.NotFound("Metadata item was not found", kind="metadata_item",
                                      id=key)
            del items[key]
            self.store.update(uuid, {"metadata_items": items}, s=s)

    # ==== tags ===============================================================
    def set_tags(self, ctx: RequestContext, uuid: str, tags: list[str],
                 rule: str = "os_compute_api:os-server-tags:update_all") -> list[str]:
        inst = self.get(ctx, uuid, rule)
        self._check_tags(tags)
        with self.db.session() as s:
            self._lock_row(s, inst.uuid)
            s.execute(delete(InstanceTag).where(InstanceTag.instance_uuid == inst.uuid))
            for tag in dict.fromkeys(tags):
                s.add(InstanceTag(instance_uuid=inst.uuid, tag=tag))
        return sorted(set(tags))

    def add_tag(self, ctx: RequestContext, uuid: str, tag: str) -> bool:
        """Add one tag; False when it was there already."""
        inst = self.get(ctx, uuid, "os_compute_api:os-server-tags:update")
        with self.db.session() as s:
            self._lock_row(s, inst.uuid)
            current = list(s.scalars(select(InstanceTag.tag).where(
                InstanceTag.instance_uuid == inst.uuid)))
            if tag in current:
                s.rollback()  # nothing changed: leave updated_at alone
                return False
            self._check_tags([*current, tag])
            s.add(InstanceTag(instance_uuid=inst.uuid, tag=tag))
        return True

    def delete_tag(self, ctx: RequestContext, uuid: str, tag: str | None) -> None:
        rule = "os-server-tags:delete" if tag is not None else "os-server-tags:delete_all"
        inst = self.get(ctx, uuid, f"os_compute_api:{rule}")
        with self.db.session() as s:
            stmt = delete(InstanceTag).where(InstanceTag.instance_uuid == inst.uuid)
            if tag is not None:
                stmt = stmt.where(InstanceTag.tag == tag)
            result = s.execute(stmt)
            if tag is not None and not getattr(result, "rowcount", 1):
                raise errors.NotFound(f"Tag {tag} could not be found.", kind="server_tag",
                                      id=tag)

    @staticmethod
    def _check_tags(tags: list[str]) -> None:
        for tag in tags:
            if not TAG_RE.match(tag):
                raise errors.InvalidInput(f"Invalid tag {tag!r}: tags are 1-60 characters "
                                          "without ',' or '/'.")
        if len(set(tags)) > MAX_TAGS:
            raise errors.InvalidInput(f"The number of tags exceeded the per-server limit "
                                      f"{MAX_TAGS}")

    # ==== instance actions =================================================
    def actions(self, ctx: RequestContext, uuid: str,
                rule: str = "os_compute_api:os-instance-actions:list",
                deleted: bool = True) -> list[InstanceAction]:
        """The instance's actions, newest first (``deleted``: of a deleted one too)."""
        inst = self.get(ctx, uuid, rule, deleted=deleted)
        with self.db.session() as s:
            return list(s.scalars(select(InstanceAction).where(
                InstanceAction.instance_uuid == inst.uuid)
                .order_by(InstanceAction.start_time.desc(), InstanceAction.id.desc())))

    def record_action(self, ctx: RequestContext, inst: Instance, action: str) -> None:
        with self.db.session() as s:
            s.add(InstanceAction(instance_uuid=inst.uuid, action=action,
                                 request_id=ctx.request_id or f"req-{utcnow().timestamp()}",
                                 user_id=ctx.user_id, project_id=ctx.project_id))
