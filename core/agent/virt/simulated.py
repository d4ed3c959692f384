"""A simulated hypervisor: instances are records in memory with a console log.

Each operation takes ``operation_time`` seconds; a spawn fails with probability
``failure_rate`` (failure injection for rescheduling tests). ``fail_next`` makes
the next N spawns fail deterministically.

With a ``state_file`` the host keeps its guests' definitions across restarts, as
a hypervisor keeps its domains: the process that ran the guests is gone after a
restart, so they come back powered off (SHUTDOWN), as after a host reboot, and
the agent's power-state sync stops them in the database (SHUTOFF). With
``resume_guests`` (Nova's ``resume_guests_state_on_host_boot``) the guests that
were running start again instead. Without a state file the guests are lost
with the process, and the sync reports them lost.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import random
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from core.agent.virt.driver import DriverError, InstanceInfo
from core.compute import states

log = logging.getLogger(__name__)


def _digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


class SimulatedDriver:
    hypervisor_type = "fake"

    def __init__(self, host: str = "sim", operation_time: float = 0.0,
                 failure_rate: float = 0.0, fail_next: int = 0, seed: int | None = None,
                 state_file: Path | None = None, resume_guests: bool = False) -> None:
        self.host = host
        self.operation_time = operation_time
        self.failure_rate = failure_rate
        self.fail_next = fail_next
        self._random = random.Random(seed)
        self._lock = threading.RLock()
        self._instances: dict[str, InstanceInfo] = {}
        self._consoles: dict[str, list[str]] = {}
        self.cached_images: set[str] = set()  # what cache_image fetched ahead of boots
        self.state_file = state_file
        if state_file is not None:
            self._load(state_file, resume_guests)

    # ---- persistence ------------------------------------------------------
    def _load(self, path: Path, resume: bool) -> None:
        try:
            saved = json.loads(path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.error("%s: cannot read the guests of %s (%s); starting with none",
                      self.host, path, exc)
            return
        for entry in saved.get("guests", []):
            info = InstanceInfo(**entry)
            was_running = info.power_state == states.RUNNING
            if info.power_state == states.SUSPENDED:
                # A suspended guest's memory is on disk: it survives the restart.
                self._log(info.uuid, "Host restarted: the guest stays suspended")
                self._instances[info.uuid] = info
                continue
            info.power_state = states.RUNNING if resume and was_running else states.SHUTDOWN
            self._instances[info.uuid] = info
            self._log(info.uuid, "Host restarted: " + (
                "resuming the guest" if info.power_state == states.RUNNING else "powered off"))
        log.info("%s: %d guests defined after the restart", self.host, len(self._instances))

    def _save(self) -> None:
        """Write the guests' definitions (called with the lock held); atomically."""
        if self.state_file is None:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        guests = [dataclasses.asdict(i) for i in self._instances.values()]
        tmp.write_text(json.dumps({"host": self.host, "guests": guests}))
        os.replace(tmp, self.state_file)

    # ---- helpers --------------------------------------------------------
    def _work(self) -> None:
        if self.operation_time > 0:
            time.sleep(self.operation_time)

    def _log(self, uuid: str, line: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        self._consoles.setdefault(uuid, []).append(f"[{stamp}] {line}")

    def _get(self, uuid: str) -> InstanceInfo:
        info = self._instances.get(uuid)
        if info is None:
            raise DriverError(f"Instance {uuid} is not on host {self.host}.")
        return info

    # ---- VirtDriver -----------------------------------------------------
    def cache_image(self, image_id: str) -> bool:
        with self._lock:
            if image_id in self.cached_images:
                return False
            self._work()
            self.cached_images.add(image_id)
            return True

    def spawn(self, instance: dict, image: dict) -> None:
        self._work()
        uuid = instance["uuid"]
        with self._lock:
            if uuid in self._instances:  # delivered twice
                return
            if self.fail_next > 0:
                self.fail_next -= 1
                raise DriverError(f"Simulated spawn failure of {uuid} on {self.host}.")
            if self.failure_rate and self._random.random() < self.failure_rate:
                raise DriverError(f"Simulated spawn failure of {uuid} on {self.host}.")
            flavor = instance["flavor"]
            self._instances[uuid] = InstanceInfo(uuid, instance.get("name", uuid),
                                                 flavor["vcpus"], flavor["memory_mb"],
                                                 flavor["root_gb"], states.RUNNING)
            name = instance.get("hostname") or instance.get("name") or uuid
            self._log(uuid, f"Booting {image.get('name') or image.get('id') or 'image'} "
                            f"on {self.host}")
            self._log(uuid, f"{name} login: ")
            self._save()

    def destroy(self, instance: dict) -> None:
        self._work()
        with self._lock:
            self._instances.pop(instance["uuid"], None)
            self._consoles.pop(instance["uuid"], None)
            self._save()

    def power_off(self, instance: dict) -> None:
        self._work()
        with self._lock:
            self._get(instance["uuid"]).power_state = states.SHUTDOWN
            self._log(instance["uuid"], "reboot: Power down")
            self._save()

    def power_on(self, instance: dict) -> None:
        self._work()
        with self._lock:
            self._get(instance["uuid"]).power_state = states.RUNNING
            self._log(instance["uuid"], "Booting after power on")
            self._save()

    def reboot(self, instance: dict, hard: bool) -> None:
        self._work()
        with self._lock:
            self._get(instance["uuid"]).power_state = states.RUNNING
            self._log(instance["uuid"], "Hard reset" if hard else "reboot: Restarting system")
            self._save()

    # ---- power states: pause, suspend, rescue, soft delete ---------------------
    def _set_power(self, uuid: str, power: int, line: str,
                   allowed: tuple[int, ...] | None = None) -> InstanceInfo:
        """Put the guest in ``power`` (already there: nothing happens, as a request
        delivered twice must find); from a state not in ``allowed``, DriverError."""
        info = self._get(uuid)
        if info.power_state == power:
            return info
        if allowed is not None and info.power_state not in allowed:
            name = states.POWER_STATE_NAMES.get(info.power_state, str(info.power_state))
            raise DriverError(f"Instance {uuid} on {self.host} is {name}: cannot go "
                              f"{states.POWER_STATE_NAMES[power]}.")
        info.power_state = power
        self._log(uuid, line)
        self._save()
        return info

    def pause(self, instance: dict) -> None:
        self._work()
        with self._lock:
            self._set_power(instance["uuid"], states.PAUSED, "Guest paused",
                            (states.RUNNING,))

    def unpause(self, instance: dict) -> None:
        self._work()
        with self._lock:
            self._set_power(instance["uuid"], states.RUNNING, "Guest unpaused",
                            (states.PAUSED,))

    def suspend(self, instance: dict) -> None:
        self._work()
        with self._lock:
            self._set_power(instance["uuid"], states.SUSPENDED,
                            "PM: suspend to disk: memory saved", (states.RUNNING,))

    def resume(self, instance: dict) -> None:
        self._work()
        with self._lock:
            self._set_power(instance["uuid"], states.RUNNING,
                            "PM: resume from disk: memory restored", (states.SUSPENDED,))

    def rescue(self, instance: dict, image: dict, password: str) -> None:
        self._work()
        uuid = instance["uuid"]
        with self._lock:
            info = self._get(uuid)
            info.rescue_image = image.get("id") or instance.get("image_ref") or ""
            info.admin_password_sha256 = _digest(password)
            info.power_state = states.RUNNING
            self._log(uuid, f"Booting rescue image "
                            f"{image.get('name') or info.rescue_image} on {self.host}; "
                            "the instance's disk is attached as the second disk")
            self._log(uuid, "rescue login: ")
            self._save()

    def unrescue(self, instance: dict) -> None:
        self._work()
        uuid = instance["uuid"]
        with self._lock:
            info = self._get(uuid)
            if info.rescue_image is None and info.power_state == states.RUNNING:
                return  # delivered twice
            info.rescue_image = None
            info.power_state = states.RUNNING
            name = instance.get("hostname") or instance.get("name") or uuid
            self._log(uuid, f"Leaving rescue: booting from the instance's disk on {self.host}")
            self._log(uuid, f"{name} login: ")
            self._save()

    def set_admin_password(self, instance: dict, password: str) -> None:
        self._work()
        uuid = instance["uuid"]
        with self._lock:
            info = self._get(uuid)
            if info.power_state != states.RUNNING:
                raise DriverError(f"Instance {uuid} is not running: its guest agent cannot "
                                  "set the password.")
            info.admin_password_sha256 = _digest(password)
            self._log(uuid, "guest-agent: the administrator password was changed")
            self._save()

    def soft_delete(self, instance: dict) -> None:
        self._work()
        with self._lock:
            self._set_power(instance["uuid"], states.SHUTDOWN,
                            "reboot: Power down (soft delete)")

    def restore(self, instance: dict) -> None:
        self._work()
        with self._lock:
            self._set_power(instance["uuid"], states.RUNNING, "Booting after restore")

    def resize(self, instance: dict, flavor: dict) -> None:
        self._work()
        uuid = instance["uuid"]
        with self._lock:
            info = self._instances.get(uuid)
            if info is None:  # arrived from another host
                info = InstanceInfo(uuid, instance.get("name", uuid), 0, 0, 0, states.RUNNING)
                self._instances[uuid] = info
            info.vcpus, info.memory_mb, info.root_gb = (flavor["vcpus"], flavor["memory_mb"],
                                                        flavor["root_gb"])
            # A resize restarts the guest with its new resources (on this host).
            name = instance.get("hostname") or instance.get("name") or uuid
            self._log(uuid, f"Resized to {flavor.get('name', '?')}; booting on {self.host}")
            self._log(uuid, f"{name} login: ")
            self._save()

    def migrate_in(self, instance: dict, source: str) -> None:
        self._work()
        uuid = instance["uuid"]
        with self._lock:
            if uuid in self._instances:  # delivered twice
                return
            flavor = instance["flavor"]
            self._instances[uuid] = InstanceInfo(
                uuid, instance.get("name", uuid), flavor["vcpus"], flavor["memory_mb"],
                flavor["root_gb"], int(instance.get("power_state") or states.RUNNING))
            self._log(uuid, f"Live-migrated from {source} to {self.host}")
            self._save()

    def snapshot(self, instance: dict) -> bytes:
        self._work()
        with self._lock:
            info = self._get(instance["uuid"])
            # A deterministic "disk": a header and a body derived from the instance.
            seed = hashlib.sha256(info.uuid.encode()).digest()
            return b"NIMBUS-SIMULATED-DISK\n" + seed * 2048

    def attach_volume(self, instance: dict, volume_id: str, device: str) -> None:
        self._work()
        with self._lock:
            info = self._get(instance["uuid"])
            if info.volumes.get(volume_id) == device:
                return  # delivered twice
            info.volumes[volume_id] = device
            self._log(info.uuid, f"virtio_blk: [{device.rsplit('/', 1)[-1]}] attached "
                                 f"volume {volume_id}")
            self._save()

    def detach_volume(self, instance: dict, volume_id: str) -> None:
        self._work()
        with self._lock:
            info = self._instances.get(instance["uuid"])
            if info is None or volume_id not in info.volumes:
                return
            device = info.volumes.pop(volume_id)
            self._log(info.uuid, f"virtio_blk: [{device.rsplit('/', 1)[-1]}] detached")
            self._save()

    def inject_nmi(self, instance: dict) -> None:
        with self._lock:
            self._get(instance["uuid"])
            self._log(instance["uuid"], "Kernel panic - not syncing: NMI: Not continuing")

    def console_output(self, instance: dict, length: int | None = None) -> str:
        with self._lock:
            lines = list(self._consoles.get(instance["uuid"], []))
        if length is not None:
            lines = lines[-length:] if length > 0 else []
        return "\n".join(lines) + ("\n" if lines else "")

    def diagnostics(self, instance: dict) -> dict:
        """Steady simulated counters (derived from the uuid) of the guest's CPUs,
        memory and disks, in the driver-neutral form the API renders."""
        with self._lock:
            info = self._get(instance["uuid"])
            disks = ["vda", *(d.rsplit("/", 1)[-1] for d in info.volumes.values())]
        seed = int(hashlib.sha256(info.uuid.encode()).hexdigest()[:8], 16)
        return {"state": "running" if info.power_state == states.RUNNING else "shutdown",
                "driver": "simulated", "hypervisor": "fake", "hypervisor_os": "linux",
                "uptime": 3600 + seed % 86400, "config_drive": False,
                "cpus": [{"id": i, "time": 17_000_000_000 + (seed >> i) % 10**9,
                          "utilisation": 15} for i in range(info.vcpus)],
                "memory_mb": info.memory_mb,
                "disks": [{"device": name, "read_bytes": 262144 + seed % 4096,
                           "read_requests": 112, "write_bytes": 5778432,
                           "write_requests": 488, "errors_count": -1} for name in disks]}

    def power_state(self, uuid: str) -> int:
        with self._lock:
            info = self._instances.get(uuid)
            return info.power_state if info else states.NOSTATE

    def list_instances(self) -> list[InstanceInfo]:
        with self._lock:
            return list(self._instances.values())
