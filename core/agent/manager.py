"""The compute agent of one host: runs instances through a virt driver and reports
to the conductor — it has no database access at all.

Requests come on the host's own queue of the ``compute`` topic. Each state
change goes through the conductor as a compare-and-swap on the task state the
agent expects, so a request delivered twice is carried out once.
"""

from __future__ import annotations

import base64
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from core.agent.moves import MOVE_METHODS, MoveEndpoints
from core.agent.virt import DriverError, VirtDriver
from core.compute import states
from core.compute.connector import host_connector
from core.compute.notifications import Notifier
from core.compute.rpcapi import COMPUTE, ConductorClient
from core.messaging.interfaces import MessageBus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HostResources:
    """What the agent reports about its host."""

    host: str
    vcpus: int
    memory_mb: int
    local_gb: int
    availability_zone: str = "nova"
    architecture: str = "x86_64"
    hypervisor_type: str = "fake"
    hypervisor_version: int = 1000
    host_ip: str = "127.0.0.1"
    capabilities: dict = field(default_factory=dict)
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0

    def as_node(self) -> dict[str, Any]:
        return {"host": self.host, "hypervisor_hostname": self.host, "vcpus": self.vcpus,
                "memory_mb": self.memory_mb, "local_gb": self.local_gb,
                "availability_zone": self.availability_zone, "architecture": self.architecture,
                "hypervisor_type": self.hypervisor_type,
                "hypervisor_version": self.hypervisor_version, "host_ip": self.host_ip,
                "capabilities": dict(self.capabilities, cpu_arch=self.architecture,
                                     hypervisor_type=self.hypervisor_type),
                "cpu_allocation_ratio": self.cpu_allocation_ratio,
                "ram_allocation_ratio": self.ram_allocation_ratio,
                "disk_allocation_ratio": self.disk_allocation_ratio}


class ComputeAgent(MoveEndpoints):
    """RPC endpoints of one host, plus its heartbeat (the moves: core/agent/moves.py)."""

    # What the bus may call; start, stop, register and the sync are the host's own.
    RPC_METHODS = frozenset({
        "build_and_run_instance", "terminate_instance", "destroy_copy", "stop_instance",
        "start_instance", "reboot_instance", "finish_resize", "snapshot_instance",
        "trigger_crash_dump", "get_console_output", "attach_volume", "detach_volume",
        "pause_instance", "unpause_instance", "suspend_instance", "resume_instance",
        "rescue_instance", "unrescue_instance", "set_admin_password", "soft_delete_instance",
        "restore_instance", *MOVE_METHODS,
        "get_diagnostics", "cache_images"})

    def __init__(self, resources: HostResources, driver: VirtDriver, bus: MessageBus,
                 conductor: ConductorClient, notifier: Notifier,
                 report_interval: float = 10.0, sync_interval: float = 600.0) -> None:
        self.resources = resources
        self.host = resources.host
        self.driver = driver
        self.bus = bus  # the host's own queue is served on it
        self.conductor = conductor
        self.notifier = notifier
        self.report_interval = report_interval
        self.sync_interval = sync_interval
        self._stop = threading.Event()
        self._server: Any = None
        self._heartbeat: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------
    def start(self, register_timeout: float = 60.0) -> ComputeAgent:
        self._server = self.bus.serve(COMPUTE, self.host, self)
        self._server.start()
        self.register(register_timeout)
        self.sync_power_states()
        self._heartbeat = threading.Thread(target=self._beat, name=f"heartbeat-{self.host}",
                                           daemon=True)
        self._heartbeat.start()
        return self

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop once the message in hand is done (waiting up to ``timeout``
        seconds); False if it was not (it goes back to the host's queue)."""
        self._stop.set()
        finished = self._server.stop(timeout) if self._server is not None else True
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)
        return finished

    def register(self, timeout: float) -> None:
        """Report the host's resources; retried until a conductor answers."""
        waited = 0.0
        while not self._stop.is_set():
            try:
                self.conductor.report_node(self.resources.as_node())
                return
            except Exception as exc:  # noqa: BLE001 - no conductor yet: keep trying
                if waited >= timeout:
                    raise
                log.info("%s: registering failed (%s); retrying", self.host, exc)
                self._stop.wait(1.0)
                waited += 1.0

    def _beat(self) -> None:
        since_sync = 0.0
        while not self._stop.wait(self.report_interval):
            try:
                if not self.conductor.heartbeat(self.host).get("registered", True):
                    self.conductor.report_node(self.resources.as_node())
            except Exception:  # noqa: BLE001 - a missed beat is retried next interval
                log.warning("%s: heartbeat failed", self.host, exc_info=True)
            since_sync += self.report_interval
            if self.sync_interval > 0 and since_sync >= self.sync_interval:
                since_sync = 0.0
                self.sync_power_states()

    def sync_power_states(self) -> None:
        """Tell the conductor what the hypervisor runs, as Nova's power-state sync:
        instances whose guests are powered off or gone are brought in line. The
        settled instances are read before the guests are listed (Nova's order),
        so a build landing in between is not taken for a lost guest."""
        try:
            settled = self.conductor.settled_instances(self.host)
            guests = {i.uuid: i.power_state for i in self.driver.list_instances()}
            result = self.conductor.sync_power_states(self.host, guests, settled)
        except Exception:  # noqa: BLE001 - the next sync tries again
            log.warning("%s: power-state sync failed", self.host, exc_info=True)
            return
        for uuid in result.get("strays", []):
            log.info("%s: removing guest %s: it has no instance here", self.host, uuid)
            self.driver.destroy({"uuid": uuid})
        if result.get("stopped") or result.get("lost"):
            log.info("%s: power-state sync stopped %d and lost %d instances", self.host,
                     len(result.get("stopped", [])), len(result.get("lost", [])))

    # ---- endpoints ---------------------------------------------------------
    def build_and_run_instance(self, instance: dict, image: dict,
                               alternates: list[dict]) -> None:
        uuid = instance["uuid"]
        claim = self.conductor.instance_update(uuid, {"task_state": states.SPAWNING},
                                               [states.NETWORKING], self.host)
        if not claim["ok"]:
            log.info("%s: not building %s: %s", self.host, uuid, claim)
            return
        try:
            self.driver.spawn(instance, image)
        except DriverError as exc:
            self.driver.destroy(instance)
            self.conductor.build_failed(uuid, self.host, str(exc), alternates, image)
            return
        for attachment in instance.get("block_devices") or []:
            self.attach_volume(instance, attachment)  # the volumes mapped at boot
        result = self.conductor.build_succeeded(uuid, self.host, self.driver.power_state(uuid))
        if not result["ok"] and result.get("deleted"):
            self.driver.destroy(instance)

    def terminate_instance(self, instance: dict) -> None:
        self.driver.destroy(instance)
        self.conductor.instance_destroyed(instance["uuid"], self.host)

    def destroy_copy(self, instance: dict) -> None:
        self.driver.destroy(instance)

    def stop_instance(self, instance: dict) -> None:
        self._power_action(instance, "power_off", self.driver.power_off,
                           {"vm_state": states.STOPPED, "power_state": states.SHUTDOWN},
                           [states.POWERING_OFF])

    def start_instance(self, instance: dict) -> None:
        self._power_action(instance, "power_on", self.driver.power_on,
                           {"vm_state": states.ACTIVE, "power_state": states.RUNNING},
                           [states.POWERING_ON])

    def reboot_instance(self, instance: dict, hard: bool) -> None:
        self._power_action(instance, "reboot", lambda i: self.driver.reboot(i, hard),
                           {"vm_state": states.ACTIVE, "power_state": states.RUNNING},
                           [states.REBOOTING_HARD if hard else states.REBOOTING])

    # ---- pause, suspend, rescue, password, soft delete and restore -------------
    # Each ends in its vm_state with the power state the hypervisor reports after it.
    def pause_instance(self, instance: dict) -> None:
        self._state_action(instance, "pause", self.driver.pause, states.PAUSED_VM,
                           states.PAUSING)

    def unpause_instance(self, instance: dict) -> None:
        self._state_action(instance, "unpause", self.driver.unpause, states.ACTIVE,
                           states.UNPAUSING)

    def suspend_instance(self, instance: dict) -> None:
        self._state_action(instance, "suspend", self.driver.suspend, states.SUSPENDED_VM,
                           states.SUSPENDING)

    def resume_instance(self, instance: dict) -> None:
        self._state_action(instance, "resume", self.driver.resume, states.ACTIVE,
                           states.RESUMING)

    def rescue_instance(self, instance: dict, image: dict, password: str) -> None:
        self._state_action(instance, "rescue",
                           lambda i: self.driver.rescue(i, image, password), states.RESCUED,
                           states.RESCUING)

    def unrescue_instance(self, instance: dict) -> None:
        self._state_action(instance, "unrescue", self.driver.unrescue, states.ACTIVE,
                           states.UNRESCUING)

    def set_admin_password(self, instance: dict, password: str) -> None:
        self._state_action(instance, "set_admin_password",
                           lambda i: self.driver.set_admin_password(i, password),
                           states.ACTIVE, states.UPDATING_PASSWORD, notify=False)

    def soft_delete_instance(self, instance: dict) -> None:
        self._state_action(instance, "soft_delete", self.driver.soft_delete,
                           states.SOFT_DELETED, states.SOFT_DELETING)

    def restore_instance(self, instance: dict) -> None:
        self._state_action(instance, "restore", self.driver.restore, states.ACTIVE,
                           states.RESTORING)

    def _state_action(self, instance: dict, action: str, operation: Any, vm_state: str,
                      task: str, notify: bool = True) -> None:
        """Run ``operation``; the conductor applies ``vm_state`` and the guest's power
        state, or (the driver failed) clears the task and records a fault."""
        uuid = instance["uuid"]
        if notify:
            self.notifier.send(f"compute.instance.{action}.start",
                               {"instance_id": uuid, "host": self.host})
        error = None
        try:
            operation(instance)
        except DriverError as exc:
            error = str(exc)
        self.conductor.action_finished(
            uuid, self.host, action if notify else "",
            {"vm_state": vm_state, "power_state": self.driver.power_state(uuid),
             "task_state": None}, [task], error)

    def _power_action(self, instance: dict, action: str, operation: Any, end_values: dict,
                      expected: list) -> None:
        self.notifier.send(f"compute.instance.{action}.start",
                           {"instance_id": instance["uuid"], "host": self.host})
        error = None
        try:
            operation(instance)
        except DriverError as exc:
            error = str(exc)
        self.conductor.action_finished(instance["uuid"], self.host, action,
                                       dict(end_values, task_state=None), expected, error)

    def finish_resize(self, instance: dict, flavor: dict) -> None:
        error = None
        try:
            self.driver.resize(instance, flavor)
        except DriverError as exc:
            error = str(exc)
        if instance.get("report", True):
            self.conductor.resize_finished(instance["uuid"], self.host, error)

    def snapshot_instance(self, instance: dict, image_id: str) -> None:
        uuid = instance["uuid"]
        claim = self.conductor.instance_update(uuid, {"task_state": states.IMAGE_UPLOADING},
                                               [states.IMAGE_SNAPSHOT], self.host)
        if not claim["ok"]:
            # Deleted or moved on meanwhile: the conductor removes the queued image.
            self.conductor.upload_snapshot(uuid, image_id, "",
                                           error=claim.get("reason") or "instance gone")
            return
        try:
            data = base64.b64encode(self.driver.snapshot(instance)).decode()
            self.conductor.upload_snapshot(uuid, image_id, data)
        except DriverError as exc:
            self.conductor.upload_snapshot(uuid, image_id, "", error=str(exc))

    def connector(self, attachment: dict) -> dict[str, Any]:
        """This host's connector, as os-brick describes a host to Cinder."""
        return host_connector(self.host, self.resources.host_ip, attachment.get("mountpoint"),
                              attachment.get("attach_mode"))

    def attach_volume(self, instance: dict, attachment: dict) -> None:
        """Connect the reserved volume to the guest, then have the conductor complete
        the attachment (or delete it when the driver failed)."""
        uuid, error = instance["uuid"], None
        try:
            self.driver.attach_volume(instance, attachment["volume_id"],
                                      attachment.get("mountpoint") or "")
        except DriverError as exc:
            error = str(exc)
        result = self.conductor.volume_attached(uuid, attachment["id"], self.host,
                                                self.connector(attachment), error)
        if not result.get("ok") and not error:
            # The attachment went away meanwhile (the instance deleted): let go.
            self._disconnect(instance, attachment["volume_id"])

    def detach_volume(self, instance: dict, attachment: dict) -> None:
        error = None
        try:
            self.driver.detach_volume(instance, attachment["volume_id"])
        except DriverError as exc:
            error = str(exc)
        self.conductor.volume_detached(instance["uuid"], attachment["id"], self.host, error)

    def _disconnect(self, instance: dict, volume_id: str) -> None:
        try:
            self.driver.detach_volume(instance, volume_id)
        except DriverError as exc:
            log.warning("%s: disconnecting %s failed: %s", self.host, volume_id, exc)

    def trigger_crash_dump(self, instance: dict) -> None:
        try:
            self.driver.inject_nmi(instance)
        except DriverError as exc:
            log.warning("%s: crash dump of %s failed: %s", self.host, instance["uuid"], exc)

    def get_console_output(self, instance: dict, length: int | None = None) -> str:
        return self.driver.console_output(instance, length)

    def get_diagnostics(self, instance: dict) -> dict:
        return self.driver.diagnostics(instance)

    def cache_images(self, image_ids: list[str]) -> None:
        """Pre-cache images an aggregate's hosts were asked for (2.81)."""
        fetched = [i for i in image_ids if self.driver.cache_image(i)]
        log.info("%s: cached images %s (%d already cached)", self.host,
                 ", ".join(image_ids), len(image_ids) - len(fetched))
