"""The virt-driver protocol: what a compute agent asks of a hypervisor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class DriverError(Exception):
    """A hypervisor operation failed; the agent reports it (and reschedules a spawn)."""


@dataclass
class InstanceInfo:
    uuid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    power_state: int
    volumes: dict[str, str] = field(default_factory=dict)  # volume id → device
    rescue_image: str | None = None  # the image a rescued guest booted from
    # The guest's administrator password, as a SHA-256 digest (never the password).
    admin_password_sha256: str | None = None


class VirtDriver(Protocol):
    """Operations on instances of one host. Every method is idempotent: the agent may
    repeat a request that was delivered twice."""

    def spawn(self, instance: dict, image: dict) -> None:
        """Create and boot the instance (``instance`` as the conductor sends it)."""

    def destroy(self, instance: dict) -> None:
        """Power off and remove the instance; nothing happens when it does not exist."""

    def power_off(self, instance: dict) -> None: ...

    def power_on(self, instance: dict) -> None: ...

    def reboot(self, instance: dict, hard: bool) -> None: ...

    def pause(self, instance: dict) -> None:
        """Freeze the running guest in memory (PAUSED)."""

    def unpause(self, instance: dict) -> None: ...

    def suspend(self, instance: dict) -> None:
        """Save the guest's memory to disk and stop it (SUSPENDED)."""

    def resume(self, instance: dict) -> None: ...

    def rescue(self, instance: dict, image: dict, password: str) -> None:
        """Boot the guest from ``image`` (a rescue image) with its own disk attached
        and ``password`` for its administrator."""

    def unrescue(self, instance: dict) -> None:
        """Boot the guest from its own disk again."""

    def set_admin_password(self, instance: dict, password: str) -> None:
        """Set the running guest's administrator password (its guest agent)."""

    def soft_delete(self, instance: dict) -> None:
        """Power the guest off, keeping it to be restored."""

    def restore(self, instance: dict) -> None:
        """Power a soft-deleted guest on again."""

    def resize(self, instance: dict, flavor: dict) -> None:
        """Give the (possibly migrated) instance the resources of ``flavor``."""

    def migrate_in(self, instance: dict, source: str) -> None:
        """Take over the running instance live-migrated from host ``source``
        (already here: nothing happens)."""

    def snapshot(self, instance: dict) -> bytes:
        """The instance's disk as image data."""

    def inject_nmi(self, instance: dict) -> None:
        """Send the guest a non-maskable interrupt (it writes a crash dump)."""

    def console_output(self, instance: dict, length: int | None = None) -> str: ...

    def diagnostics(self, instance: dict) -> dict:
        """The guest's counters: state, uptime, cpus, memory_mb, disks (os-server-
        diagnostics)."""

    def attach_volume(self, instance: dict, volume_id: str, device: str) -> None:
        """Connect a volume to the guest as ``device`` (again: nothing happens)."""

    def detach_volume(self, instance: dict, volume_id: str) -> None:
        """Disconnect a volume from the guest (not connected: nothing happens)."""

    def cache_image(self, image_id: str) -> bool:
        """Fetch an image into the host's local cache ahead of boots (Nova's
        ``cache_image``); False if it was cached already."""

    def power_state(self, uuid: str) -> int:
        """The instance's power state (0 NOSTATE when it does not exist)."""

    def list_instances(self) -> list[InstanceInfo]: ...
