"""Server actions (``POST /servers/{id}/action``): power, reboot, resize, snapshot,
console and lock. Each checks the instance's state the way Nova does (409 on a
wrong state), claims a task_state with a compare-and-swap and casts the work to
the agent of the instance's host (or to the conductor for resize flows)."""

from __future__ import annotations

import time
from typing import Any

from core import errors
from core.compute import states
from core.compute.boot_checks import BootChecks
from core.compute.flavors import FlavorService
from core.compute.instance_store import InstanceStore, UnexpectedState, instance_message
from core.compute.migration_records import COLD, RESIZE, MigrationRecords
from core.compute.models import Instance
from core.compute.notifications import Notifier
from core.compute.rpcapi import AgentClient, ConductorClient
from core.compute.servers import ServerService
from core.compute.usage import grown, migration_consumer, shrunk
from core.context import RequestContext
from core.db import Database
from core.image.service import ImageService
from core.messaging.errors import MessagingTimeout, RemoteError
from core.placement import claims
from core.policy import PolicyEnforcer
from core.quota.service import QuotaService

# Whose console log the hypervisor keeps (a guest that was never built has none).
CONSOLE_STATES = (states.ACTIVE, states.STOPPED, states.RESIZED, states.PAUSED_VM,
                  states.SUSPENDED_VM, states.RESCUED)


class ResizeFailed(errors.Conflict):
    """A resize that ended without changing the flavor (no host could take it)."""


def wrong_state(action: str, inst: Instance, attr: str = "vm_state") -> errors.Conflict:
    value = getattr(inst, attr)
    return errors.Conflict(f"Cannot '{action}' instance {inst.uuid} while it is in "
                           f"{attr} {value}", kind="instance", id=inst.uuid, state=value)


def load_for_action(servers: ServerService, ctx: RequestContext, uuid: str, rule: str,
                    action: str, vm_states: tuple[str, ...],
                    task_states: tuple[str | None, ...] = (None,),
                    check_lock: bool = True) -> Instance:
    """The instance once policy ``rule`` allows, it is unlocked (if checked), in
    one of ``vm_states`` and ``task_states``; Nova's 409 otherwise."""
    inst = servers.get(ctx, uuid, rule)
    if check_lock:
        servers.check_unlocked(ctx, inst)
    if inst.vm_state not in vm_states:
        raise wrong_state(action, inst)
    if inst.task_state not in task_states:
        raise wrong_state(action, inst, "task_state")
    return inst


def claim_task(store: InstanceStore, servers: ServerService, ctx: RequestContext,
               inst: Instance, action: str, task: str,
               expected: tuple[str | None, ...] = (None,), **values: Any) -> Instance:
    """Set ``task`` (and ``values``) if the instance is still as read (a
    compare-and-swap on its task and vm state; 409 if another request won), and
    record the instance action."""
    try:
        claimed = store.update(inst.uuid, dict(values, task_state=task),
                               expected_task_state=list(expected),
                               expected_vm_state=[inst.vm_state])
    except UnexpectedState:
        raise wrong_state(action, store.get(inst.uuid), "task_state") from None
    servers.record_action(ctx, inst, action)
    return claimed


class ServerActions:
    """The actions on one server; ``servers`` reads it and checks its lock."""

    def __init__(self, servers: ServerService, db: Database, policy: PolicyEnforcer, *,
                 store: InstanceStore, checks: BootChecks, flavors: FlavorService,
                 quotas: QuotaService, images: ImageService, conductor: ConductorClient,
                 agents: AgentClient, notifier: Notifier,
                 migrations: MigrationRecords | None = None) -> None:
        self.servers = servers
        self.db = db
        self.policy = policy
        self.store = store
        self.checks = checks
        self.flavors = flavors
        self.quotas = quotas
        self.images = images
        self.conductor = conductor
        self.agents = agents
        self.notifier = notifier
        self.migrations = migrations or MigrationRecords(db)

    def _load(self, ctx: RequestContext, uuid: str, rule: str, action: str,
              vm_states: tuple[str, ...], task_states: tuple[str | None, ...] = (None,),
              check_lock: bool = True) -> Instance:
        return load_for_action(self.servers, ctx, uuid, f"os_compute_api:{rule}", action,
                               vm_states, task_states, check_lock)

    def _claim_task(self, ctx: RequestContext, inst: Instance, action: str, task: str,
                    expected: tuple[str | None, ...] = (None,), **values: Any) -> Instance:
        return claim_task(self.store, self.servers, ctx, inst, action, task, expected,
                          **values)

    # ---- power -----------------------------------------------------------
    def stop(self, ctx: RequestContext, uuid: str) -> None:
        inst = self._load(ctx, uuid, "servers:stop", "stop", (states.ACTIVE, states.ERROR))
        if not inst.host:
            raise wrong_state("stop", inst)
        inst = self._claim_task(ctx, inst, "stop", states.POWERING_OFF)
        self.agents.stop_instance(inst.host or "", instance_message(inst))

    def start(self, ctx: RequestContext, uuid: str) -> None:
        inst = self._load(ctx, uuid, "servers:start", "start", (states.STOPPED,))
        inst = self._claim_task(ctx, inst, "start", states.POWERING_ON)
        self.agents.start_instance(inst.host or "", instance_message(inst))

    def reboot(self, ctx: RequestContext, uuid: str, hard: bool) -> None:
        allowed: tuple[str, ...]
        if hard:
            allowed = (states.ACTIVE, states.STOPPED, states.ERROR)
            tasks: tuple[str | None, ...] = (None, states.REBOOTING)
        else:
            allowed, tasks = (states.ACTIVE,), (None,)
        inst = self._load(ctx, uuid, "servers:reboot", "reboot", allowed, tasks)
        if not inst.host:
            raise wrong_state("reboot", inst)
        task = states.REBOOTING_HARD if hard else states.REBOOTING
        inst = self._claim_task(ctx, inst, "reboot", task, tasks)
        self.agents.reboot_instance(inst.host or "", instance_message(inst), hard)

    # ---- resize ------------------------------------------------------------
    def resize(self, ctx: RequestContext, uuid: str, flavor_ref: str) -> None:
        inst = self._load(ctx, uuid, "servers:resize", "resize",
                          (states.ACTIVE, states.STOPPED))
        new = self.checks.flavor(ctx, flavor_ref)
        snapshot = self.flavors.to_snapshot(new)
        if snapshot["flavorid"] == inst.flavorid:
            raise errors.InvalidInput("When resizing, instances must change flavor!")
        if new.root_gb < inst.root_gb:
            raise errors.InvalidInput("Resize error: Unable to resize disk down.")
        image = self._image_of(ctx, inst)
        with self.db.session() as s:
            self.quotas.reserve(s, inst.project_id, grown(inst.flavor, snapshot))
            try:
                inst = self.store.update(inst.uuid, {"task_state": states.RESIZE_PREP,
                                                     "new_flavor": snapshot},
                                         expected_task_state=[None],
                                         expected_vm_state=[inst.vm_state], s=s)
            except UnexpectedState:
                raise wrong_state("resize", self.store.get(uuid), "task_state") from None
        self.servers.record_action(ctx, inst, "resize")
        self.migrations.start(inst, RESIZE, "pre-migrating", new_flavor=snapshot)
        spec = self.servers.request_spec(inst.project_id, inst.user_id, snapshot, image,
                                         inst.availability_zone, None,
                                         inst.scheduler_hints or {}, [inst.uuid])
        self.conductor.resize_instance(inst.uuid, spec)

    def confirm_resize(self, ctx: RequestContext, uuid: str) -> None:
        inst = self._load(ctx, uuid, "servers:confirm_resize", "confirmResize",
                          (states.RESIZED,))
        old = inst.old_flavor or inst.flavor
        source = inst.source_host
        with self.db.session() as s:
            try:
                inst = self.store.update(
                    inst.uuid, {"vm_state": states.ACTIVE if inst.power_state == states.RUNNING
                                else states.STOPPED, "old_flavor": None, "source_host": None},
                    expected_task_state=[None], expected_vm_state=[states.RESIZED], s=s)
            except UnexpectedState:
                raise wrong_state("confirmResize", self.store.get(uuid), "task_state") \
                    from None
            if inst.quota_held:
                self.quotas.release(s, inst.project_id, shrunk(old, inst.flavor))
        claims.release_resources(self.db, migration_consumer(inst.uuid))
        self.migrations.set_status(inst.uuid, "confirmed", kind=(RESIZE, COLD),
                                   expected=("finished", "confirming"))
        if source and source != inst.host:
            self.agents.destroy_copy(source, instance_message(inst))
        self.servers.record_action(ctx, inst, "confirmResize")
        self.notifier.instance(inst, "resize.confirm.end")

    def resize_confirmed(self, ctx: RequestContext, uuid: str, flavor_ref: str,
                         timeout: float = 120.0, poll: float = 0.1) -> Instance:
        """Resize and confirm as one step (EC2's ModifyInstanceAttribute instanceType):
        the instance ends in its former vm_state with the new flavor. Waits up to
        ``timeout`` seconds for the resize; one still running then is confirmed by
        :meth:`settle_resize` later. ResizeFailed if it ended without a new flavor."""
        self.resize(ctx, uuid, flavor_ref)
        deadline = time.monotonic() + timeout
        while True:
            inst = self.store.get(uuid)
            if inst.vm_state == states.RESIZED and inst.task_state is None:
                self.confirm_resize(ctx, uuid)
                return self.store.get(uuid)
            if inst.task_state is None:
                faults = self.store.latest_faults([uuid])
                reason = faults[uuid].message if uuid in faults else "the resize failed"
                raise ResizeFailed(f"Instance {uuid} could not be resized: {reason}",
                                   kind="instance", id=uuid)
            if time.monotonic() >= deadline:
                return inst
            time.sleep(poll)

    def settle_resize(self, ctx: RequestContext, uuid: str) -> None:
        """Confirm a finished resize that :meth:`resize_confirmed` left waiting."""
        inst = self.store.get(uuid)
        if inst.vm_state == states.RESIZED and inst.task_state is None:
            self.confirm_resize(ctx, uuid)

    def revert_resize(self, ctx: RequestContext, uuid: str) -> None:
        inst = self._load(ctx, uuid, "servers:revert_resize", "revertResize",
                          (states.RESIZED,))
        inst = self._claim_task(ctx, inst, "revertResize", states.RESIZE_REVERTING)
        self.conductor.revert_resize(inst.uuid)

    # ---- snapshot ------------------------------------------------------------
    def create_image(self, ctx: RequestContext, uuid: str, name: str,
                     metadata: dict[str, str]) -> str:
        inst = self._load(ctx, uuid, "servers:create_image", "createImage",
                          (states.ACTIVE, states.STOPPED, "paused", "suspended"),
                          check_lock=False)
        if not inst.host:
            raise wrong_state("createImage", inst)
        image = self.snapshot_image(ctx, inst, name, metadata)
        try:
            inst = self._claim_task(ctx, inst, "createImage", states.IMAGE_SNAPSHOT)
        except errors.Conflict:
            self.images.delete(ctx, image.id)
            raise
        self.notifier.instance(inst, "snapshot.start", image_id=image.id)
        self.agents.snapshot_instance(inst.host or "", instance_message(inst), image.id)
        return image.id

    def snapshot_image(self, ctx: RequestContext, inst: Instance, name: str,
                       metadata: dict[str, str], **extra: str) -> Any:
        """A queued image for a snapshot of ``inst`` (its data comes from the agent),
        with the base image's properties and Nova's snapshot properties."""
        base = None
        try:
            base = self.images.show(ctx, inst.image_ref).image if inst.image_ref \
                else None
        except errors.CoreError:
            base = None
        props: dict[str, Any] = {k: v for k, v in (base.properties if base else {}).items()
                                 if isinstance(v, str)}
        props.update(metadata)
        props.update({"instance_uuid": inst.uuid, "image_type": "snapshot",
                      "base_image_ref": inst.image_ref or "", "owner_user_name": ctx.user_name or "",
                      "user_id": inst.user_id})
        props.update(extra)
        values: dict[str, Any] = {"name": name, "disk_format": base.disk_format if base else "raw",
                                  "container_format": base.container_format if base else "bare",
                                  "visibility": "private",
                                  "min_disk": max(inst.root_gb, base.min_disk if base else 0),
                                  "min_ram": base.min_ram if base else 0, **props}
        return self.images.create(ctx, values)

    def trigger_crash_dump(self, ctx: RequestContext, uuid: str) -> None:
        """Inject an NMI into the guest (2.17): the instance must be running."""
        inst = self._load(ctx, uuid, "servers:trigger_crash_dump", "trigger_crash_dump",
                          (states.ACTIVE, "paused", "rescued", states.RESIZED, states.ERROR))
        if inst.power_state != states.RUNNING or not inst.host:
            raise errors.Conflict(f"Instance {uuid} is not running.", kind="instance", id=uuid,
                                  state=inst.vm_state)
        self.servers.record_action(ctx, inst, "trigger_crash_dump")
        self.agents.trigger_crash_dump(inst.host, instance_message(inst))

    # ---- console and lock -------------------------------------------------------
    def console_output(self, ctx: RequestContext, uuid: str, length: int | None) -> str:
        inst = self.servers.get(ctx, uuid, "os_compute_api:os-console-output")
        if inst.vm_state not in CONSOLE_STATES or not inst.host:
            raise errors.Conflict(f"Instance {uuid} is not ready", kind="instance", id=uuid,
                                  state=inst.vm_state)
        try:
            return self.agents.get_console_output(inst.host, instance_message(inst), length)
        except MessagingTimeout:
            raise errors.ServiceUnavailable(f"The compute host {inst.host} did not answer; "
                                            "retry later.") from None
        except RemoteError as exc:
            raise errors.Conflict(f"Could not read the console of instance {uuid}: "
                                  f"{exc.remote_message}", kind="instance", id=uuid) from None

    def lock(self, ctx: RequestContext, uuid: str, reason: str | None) -> None:
        inst = self.servers.get(ctx, uuid, "os_compute_api:os-lock-server:lock")
        is_owner = inst.project_id == ctx.project_id
        if inst.locked and is_owner:
            # As Nova: the owner locking again changes nothing, so it cannot turn
            # an admin's lock into one of its own (which it could then unlock).
            return
        self.store.update(inst.uuid, {"locked": True, "locked_reason": reason,
                                      "locked_by": "owner" if is_owner else "admin"})
        self.servers.record_action(ctx, inst, "lock")

    def unlock(self, ctx: RequestContext, uuid: str) -> None:
        inst = self.servers.get(ctx, uuid, "os_compute_api:os-lock-server:unlock")
        expected = "owner" if inst.project_id == ctx.project_id else "admin"
        if inst.locked and inst.locked_by != expected:
            self.policy.enforce("os_compute_api:os-lock-server:unlock:unlock_override",
                                {"project_id": inst.project_id}, ctx)
        self.store.update(inst.uuid, {"locked": False, "locked_reason": None,
                                      "locked_by": None})
        self.servers.record_action(ctx, inst, "unlock")

    def _image_of(self, ctx: RequestContext, inst: Instance) -> dict:
        try:
            image = self.images.show(ctx, inst.image_ref or "").image
        except errors.CoreError:
            return {"id": inst.image_ref, "properties": {}, "min_ram": 0, "min_disk": 0}
        props = {k: v for k, v in (image.properties or {}).items() if isinstance(v, str)}
        return {"id": image.id, "name": image.name, "properties": props,
                "min_ram": image.min_ram or 0, "min_disk": image.min_disk or 0}
