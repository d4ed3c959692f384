"""Server actions that move an instance between Nova's settled vm_states: pause /
unpause, suspend / resume, rescue / unrescue, changePassword, os-resetState,
and soft delete with restore and forceDelete (``reclaim_instance_interval``).

As the power actions in ``server_actions``: each checks the instance's states
the way Nova's compute API does (a wrong one is Nova's 409), claims a
task_state with a compare-and-swap, records the instance action and casts the
work to the agent of the instance's host; the agent reports the end state
through the conductor (``action_finished``), which sends the ``.end``
notification.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from core import errors
from core.clock import utcnow
from core.compute import states
from core.compute.instance_store import InstanceStore, instance_message
from core.compute.models import Instance
from core.compute.notifications import Notifier
from core.compute.rebuild import root_volume_id
from core.compute.rpcapi import AgentClient
from core.compute.server_actions import claim_task, load_for_action, wrong_state
from core.compute.servers import ServerService
from core.context import RequestContext
from core.image.service import ImageService
from core.settings import Settings

RULE = "os_compute_api:"
RESET_STATES = {"active": states.ACTIVE, "error": states.ERROR}
# What a delete may leave SOFT_DELETED (a guest that was launched and is settled);
# from any other state (building, a resize to confirm) a delete deletes at once.
SOFT_DELETABLE = (states.ACTIVE, states.STOPPED, states.PAUSED_VM, states.SUSPENDED_VM,
                  states.RESCUED, states.ERROR, states.SOFT_DELETED)
_PASSWORD_CHARS = string.ascii_letters + string.digits


def generate_password(length: int = 12) -> str:
    """Nova's utils.generate_password: letters and digits."""
    return "".join(secrets.choice(_PASSWORD_CHARS) for _ in range(length))


# The image properties that make a stable device rescue possible (Nova 2.87).
RESCUE_PROPERTIES = {"hw_rescue_bus", "hw_rescue_device"}


class StateActions:
    """The state actions of one server; ``servers`` reads it and checks its lock."""

    def __init__(self, servers: ServerService, settings: Settings, *, store: InstanceStore,
                 images: ImageService, agents: AgentClient, notifier: Notifier) -> None:
        self.servers = servers
        self.settings = settings
        self.store = store
        self.images = images
        self.agents = agents
        self.notifier = notifier

    # ---- helpers ---------------------------------------------------------------
    def _load(self, ctx: RequestContext, uuid: str, rule: str, action: str,
              vm_states: tuple[str, ...], check_lock: bool = True) -> Instance:
        """The instance once policy ``rule`` allows, it is unlocked, in one of
        ``vm_states`` with no task in progress, and on a host."""
        inst = load_for_action(self.servers, ctx, uuid, RULE + rule, action, vm_states,
                               check_lock=check_lock)
        if not inst.host:
            raise wrong_state(action, inst)
        return inst

    def _claim(self, ctx: RequestContext, inst: Instance, action: str, task: str,
               expected: tuple[str | None, ...] = (None,), **values: Any) -> Instance:
        return claim_task(self.store, self.servers, ctx, inst, action, task, expected, **values)

    # ---- pause / unpause, suspend / resume ------------------------------------------
    def pause(self, ctx: RequestContext, uuid: str) -> None:
        inst = self._load(ctx, uuid, "os-pause-server:pause", "pause", (states.ACTIVE,))
        inst = self._claim(ctx, inst, "pause", states.PAUSING)
        self.agents.pause_instance(inst.host or "", instance_message(inst))

    def unpause(self, ctx: RequestContext, uuid: str) -> None:
        inst = self._load(ctx, uuid, "os-pause-server:unpause", "unpause",
                          (states.PAUSED_VM,))
        inst = self._claim(ctx, inst, "unpause", states.UNPAUSING)
        self.agents.unpause_instance(inst.host or "", instance_message(inst))

    def suspend(self, ctx: RequestContext, uuid: str) -> None:
        inst = self._load(ctx, uuid, "os-suspend-server:suspend", "suspend", (states.ACTIVE,))
        inst = self._claim(ctx, inst, "suspend", states.SUSPENDING)
        self.agents.suspend_instance(inst.host or "", instance_message(inst))

    def resume(self, ctx: RequestContext, uuid: str) -> None:
        inst = self._load(ctx, uuid, "os-suspend-server:resume", "resume",
                          (states.SUSPENDED_VM,))
        inst = self._claim(ctx, inst, "resume", states.RESUMING)
        self.agents.resume_instance(inst.host or "", instance_message(inst))

    # ---- rescue / unrescue -------------------------------------------------------------
    def rescue(self, ctx: RequestContext, uuid: str, password: str | None = None,
               image_ref: str | None = None, allow_volume_backed: bool = False) -> str:
        """Boot the server from a rescue image (its own image unless ``image_ref``)
        with ``password`` (generated when None); the password. A volume-backed
        server only with ``allow_volume_backed`` (2.87, stable device rescue) and a
        rescue image (given, or its volume's) that names hw_rescue_bus and
        hw_rescue_device, as Nova."""
        inst = self._load(ctx, uuid, "os-rescue", "rescue",
                          (states.ACTIVE, states.STOPPED, states.ERROR))
        if not inst.image_ref:
            return self._rescue_volume_backed(ctx, inst, password, image_ref,
                                              allow_volume_backed)
        image = self._rescue_image(ctx, image_ref or inst.image_ref, given=bool(image_ref))
        password = password if password is not None else generate_password()
        inst = self._claim(ctx, inst, "rescue", states.RESCUING)
        self.agents.rescue_instance(inst.host or "", instance_message(inst), image, password)
        return password

    def _rescue_volume_backed(self, ctx: RequestContext, inst: Instance,
                              password: str | None, image_ref: str | None,
                              allowed: bool) -> str:
        if allowed:
            if image_ref:
                props = self._image_properties(ctx, image_ref)
                image = self._rescue_image(ctx, image_ref, given=True)
            else:
                volume_id = root_volume_id(self.servers, inst)
                props = self.servers.boot_volumes.image_of_volume(
                    ctx, volume_id)["properties"] if volume_id else {}
                image = {"id": props.get("image_id") or "", "name": props.get("image_name")}
            allowed = RESCUE_PROPERTIES <= set(props)
        if not allowed:
            raise errors.InvalidInput(f"Instance {inst.uuid} cannot be rescued: Cannot "
                                      "rescue a volume-backed instance", kind="instance",
                                      id=inst.uuid)
        password = password if password is not None else generate_password()
        inst = self._claim(ctx, inst, "rescue", states.RESCUING)
        self.agents.rescue_instance(inst.host or "", instance_message(inst), image, password)
        return password

    def _image_properties(self, ctx: RequestContext, ref: str) -> dict[str, Any]:
        try:
            return dict(self.images.show(ctx, ref).image.properties or {})
        except (errors.NotFound, errors.Forbidden):
            raise errors.InvalidInput(f"Image {ref} could not be found.", kind="image",
                                      id=ref, param="rescue_image_ref") from None

    def _rescue_image(self, ctx: RequestContext, ref: str, given: bool) -> dict[str, Any]:
        try:
            image = self.images.show(ctx, ref).image
        except (errors.NotFound, errors.Forbidden):
            if given:
                raise errors.InvalidInput(f"Image {ref} could not be found.", kind="image",
                                          id=ref, param="rescue_image_ref") from None
            return {"id": ref, "name": None}  # the server's own image, deleted since
        if given and image.status != "active":
            raise errors.InvalidInput(f"Image {ref} is not active.", kind="image", id=ref,
                                      param="rescue_image_ref")
        return {"id": image.id, "name": image.name}

    def unrescue(self, ctx: RequestContext, uuid: str) -> None:
        inst = self._load(ctx, uuid, "os-unrescue", "unrescue", (states.RESCUED,))
        inst = self._claim(ctx, inst, "unrescue", states.UNRESCUING)
        self.agents.unrescue_instance(inst.host or "", instance_message(inst))

    # ---- changePassword and os-resetState ---------------------------------------------------
    def change_password(self, ctx: RequestContext, uuid: str, password: str) -> None:
        inst = self._load(ctx, uuid, "os-admin-password", "changePassword", (states.ACTIVE,))
        inst = self._claim(ctx, inst, "changePassword", states.UPDATING_PASSWORD)
        self.agents.set_admin_password(inst.host or "", instance_message(inst), password)

    def reset_state(self, ctx: RequestContext, uuid: str, state: str) -> Instance:
        """Set vm_state ``state`` (active or error) and clear the task, whatever the
        instance is doing (an admin's way out of a stuck task)."""
        if state not in RESET_STATES:
            raise errors.InvalidInput(f"Invalid input for field/attribute state. Value: "
                                      f"{state}. '{state}' is not one of "
                                      "['active', 'error']", param="state")
        inst = self.servers.get(ctx, uuid, RULE + "os-admin-actions:reset_state")
        self.servers.record_action(ctx, inst, "resetState")
        values: dict[str, Any] = {"vm_state": RESET_STATES[state], "task_state": None}
        if inst.vm_state == states.SOFT_DELETED:
            values["deleted_at"] = None  # no longer waiting to be reclaimed
        inst = self.store.update(inst.uuid, values)
        self.notifier.instance(inst, "update")
        return inst

    # ---- soft delete, restore, forceDelete -------------------------------------------------
    def delete(self, ctx: RequestContext, uuid: str) -> None:
        """``DELETE /servers/{id}``: with ``reclaim_instance_interval`` set, a launched,
        settled server on a live host goes SOFT_DELETED (powered off, its resources
        and quota held); anything else, or without the setting, is deleted at once."""
        if self.settings.reclaim_instance_interval <= 0:
            self.servers.delete(ctx, uuid)
            return
        inst = self.servers.get(ctx, uuid, RULE + "servers:delete")
        if not self._soft_deletable(inst):
            self.servers.delete(ctx, uuid)
            return
        self.servers.check_unlocked(ctx, inst)
        inst = self._claim(ctx, inst, "delete", states.SOFT_DELETING,
                           (None, states.SOFT_DELETING), deleted_at=utcnow(), progress=0)
        self.agents.soft_delete_instance(inst.host or "", instance_message(inst))

    def _soft_deletable(self, inst: Instance) -> bool:
        if inst.launched_at is None or not inst.host or inst.vm_state not in SOFT_DELETABLE:
            return False
        if inst.task_state not in (None, states.SOFT_DELETING):
            return False
        # A host that is down cannot power the guest off: Nova deletes locally.
        return self.servers.host_states({inst.host}).get(inst.host) in ("UP", "MAINTENANCE")

    def restore(self, ctx: RequestContext, uuid: str) -> None:
        """Bring a SOFT_DELETED server back (ACTIVE); its quota was never given back."""
        inst = self._load(ctx, uuid, "os-deferred-delete:restore", "restore",
                          (states.SOFT_DELETED,))
        inst = self._claim(ctx, inst, "restore", states.RESTORING, deleted_at=None)
        self.agents.restore_instance(inst.host or "", instance_message(inst))

    def force_delete(self, ctx: RequestContext, uuid: str) -> None:
        """Delete now, in any vm_state (Nova's forceDelete), once no task runs."""
        inst = self.servers.get(ctx, uuid, RULE + "os-deferred-delete:force")
        self.servers.check_unlocked(ctx, inst)
        if inst.task_state is not None:
            raise wrong_state("forceDelete", inst, "task_state")
        self.servers.delete(ctx, uuid, RULE + "os-deferred-delete:force")
