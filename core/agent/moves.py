"""A compute agent's part in moving instances: shelve (power off, snapshot,
maybe offload), unshelve and rebuild (a spawn on this host), evacuation (a
rebuild here of an instance whose host died) and the arriving side of a live
migration. Each reports to the conductor, which changes the records; the
agent has no database of its own."""

from __future__ import annotations

import base64
import logging
from typing import TYPE_CHECKING

from core.agent.virt import DriverError
from core.compute import states

if TYPE_CHECKING:
    from core.agent.virt import VirtDriver
    from core.compute.notifications import Notifier
    from core.compute.rpcapi import ConductorClient

log = logging.getLogger(__name__)

MOVE_METHODS = frozenset({"shelve_instance", "shelve_offload_instance", "unshelve_instance",
                          "rebuild_instance", "live_migrate_in"})


class MoveEndpoints:
    """Mixed into :class:`~core.agent.manager.ComputeAgent`."""

    host: str
    driver: VirtDriver
    conductor: ConductorClient
    notifier: Notifier

    def attach_volume(self, instance: dict, attachment: dict) -> None:  # the agent's
        raise NotImplementedError

    # ---- shelve ------------------------------------------------------------------
    def shelve_instance(self, instance: dict, image_id: str | None, offload: bool) -> None:
        """Power off, store the guest's disk in ``image_id`` (a volume-backed server
        has none) and, with ``offload``, remove the guest from this host."""
        uuid = instance["uuid"]
        claim = self.conductor.instance_update(
            uuid, {"task_state": states.SHELVING_IMAGE_PENDING_UPLOAD}, [states.SHELVING],
            self.host)
        if not claim["ok"]:
            if image_id:
                self.conductor.upload_snapshot(uuid, image_id, "",
                                               error=claim.get("reason") or "instance gone")
            return
        error = None
        was_running = self.driver.power_state(uuid) == states.RUNNING
        try:
            if was_running:
                self.driver.power_off(instance)
            if image_id:
                self.conductor.instance_update(
                    uuid, {"task_state": states.SHELVING_IMAGE_UPLOADING},
                    [states.SHELVING_IMAGE_PENDING_UPLOAD], self.host)
                data = base64.b64encode(self.driver.snapshot(instance)).decode()
                stored = self.conductor.upload_snapshot(uuid, image_id, data)
                if not stored.get("ok"):
                    error = stored.get("error") or "the shelved image could not be stored"
        except DriverError as exc:
            error = str(exc)
            if image_id:
                self.conductor.upload_snapshot(uuid, image_id, "", error=error)
        if offload and error is None:
            self.driver.destroy(instance)
        elif error is not None and was_running:
            self._power_on_again(instance)
        self.conductor.shelve_finished(uuid, self.host, offload and error is None, error)

    def shelve_offload_instance(self, instance: dict) -> None:
        self.driver.destroy(instance)
        self.conductor.shelve_finished(instance["uuid"], self.host, True, None)

    def unshelve_instance(self, instance: dict, image: dict) -> None:
        """Start the shelved guest again: powered on where it stayed, or spawned
        here from its shelved image after an offload (its volumes connected)."""
        uuid = instance["uuid"]
        error = None
        try:
            if self.driver.power_state(uuid) == states.NOSTATE:
                self.driver.spawn(instance, image)
                self._connect_volumes(instance)
            else:
                self.driver.power_on(instance)
        except DriverError as exc:
            error = str(exc)
            if instance.get("vm_state") == states.SHELVED_OFFLOADED:
                self.driver.destroy(instance)
        self.conductor.unshelve_finished(uuid, self.host, self.driver.power_state(uuid), error)

    # ---- rebuild and evacuate ----------------------------------------------------------
    def rebuild_instance(self, instance: dict, image: dict, evacuate: bool = False) -> None:
        """The guest again from ``image`` on this host (an evacuation: the first time
        here); a stopped instance stays stopped."""
        uuid = instance["uuid"]
        self.notifier.send("compute.instance.rebuild.start",
                           {"instance_id": uuid, "host": self.host, "evacuate": evacuate})
        error = None
        try:
            self.driver.destroy(instance)
            self.driver.spawn(instance, image)
            self._connect_volumes(instance)
            if instance.get("vm_state") == states.STOPPED:
                self.driver.power_off(instance)
        except DriverError as exc:
            error = str(exc)
        self.conductor.rebuild_finished(uuid, self.host, self.driver.power_state(uuid), error)

    # ---- live migration ---------------------------------------------------------------
    def live_migrate_in(self, instance: dict, source: str) -> None:
        """The arriving side: the guest runs here now; the conductor moves the
        records and has the source remove its copy."""
        uuid = instance["uuid"]
        error = None
        try:
            self.driver.migrate_in(instance, source)
            self._connect_volumes(instance)
        except DriverError as exc:
            error = str(exc)
            self.driver.destroy(instance)
        self.conductor.live_migration_finished(uuid, self.host, error)

    # ---- helpers --------------------------------------------------------------------------
    def _power_on_again(self, instance: dict) -> None:
        """A failed shelve leaves the guest as it found it."""
        try:
            self.driver.power_on(instance)
        except DriverError as exc:
            log.warning("%s: powering %s on after a failed shelve failed: %s", self.host,
                        instance["uuid"], exc)

    def _connect_volumes(self, instance: dict) -> None:
        """Connect the instance's volumes on this host: those still attached (a
        rebuild, a live migration) directly, reserved ones (an unshelve) through
        the conductor, which completes their attachments."""
        for attachment in instance.get("volumes") or []:
            try:
                self.driver.attach_volume(instance, attachment["volume_id"],
                                          attachment.get("mountpoint") or "")
            except DriverError as exc:
                log.warning("%s: reconnecting %s failed: %s", self.host,
                            attachment["volume_id"], exc)
        for attachment in instance.get("block_devices") or []:
            self.attach_volume(instance, attachment)

