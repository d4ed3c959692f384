"""Nova's instance states: vm_state, task_state, power_state, and the API status
derived from them (nova/api/openstack/common.py's state map)."""

from __future__ import annotations

# vm_state
ACTIVE = "active"
BUILDING = "building"
STOPPED = "stopped"
RESIZED = "resized"
ERROR = "error"
DELETED = "deleted"
PAUSED_VM = "paused"
SUSPENDED_VM = "suspended"
RESCUED = "rescued"
SOFT_DELETED = "soft-delete"
SHELVED = "shelved"
SHELVED_OFFLOADED = "shelved_offloaded"

# task_state
SCHEDULING = "scheduling"
NETWORKING = "networking"
BLOCK_DEVICE_MAPPING = "block_device_mapping"
SPAWNING = "spawning"
POWERING_OFF = "powering-off"
POWERING_ON = "powering-on"
REBOOTING = "rebooting"
REBOOTING_HARD = "rebooting_hard"
RESIZE_PREP = "resize_prep"
RESIZE_MIGRATING = "resize_migrating"
RESIZE_FINISH = "resize_finish"
RESIZE_REVERTING = "resize_reverting"
RESIZE_CONFIRMING = "resize_confirming"
IMAGE_SNAPSHOT = "image_snapshot"
IMAGE_UPLOADING = "image_uploading"
DELETING = "deleting"
PAUSING = "pausing"
UNPAUSING = "unpausing"
SUSPENDING = "suspending"
RESUMING = "resuming"
RESCUING = "rescuing"
UNRESCUING = "unrescuing"
UPDATING_PASSWORD = "updating_password"
SOFT_DELETING = "soft-deleting"
RESTORING = "restoring"
SHELVING = "shelving"
SHELVING_IMAGE_PENDING_UPLOAD = "shelving_image_pending_upload"
SHELVING_IMAGE_UPLOADING = "shelving_image_uploading"
SHELVING_OFFLOADING = "shelving_offloading"
UNSHELVING = "unshelving"
REBUILDING = "rebuilding"
REBUILD_SPAWNING = "rebuild_spawning"
MIGRATING = "migrating"

# power_state
NOSTATE = 0
RUNNING = 1
PAUSED = 3
SHUTDOWN = 4
CRASHED = 6
SUSPENDED = 7

POWER_STATE_NAMES = {NOSTATE: "pending", RUNNING: "running", PAUSED: "paused",
                     SHUTDOWN: "shutdown", CRASHED: "crashed", SUSPENDED: "suspended"}

_RESIZE_TASKS: dict[str | None, str] = {RESIZE_PREP: "RESIZE", "resize_migrating": "RESIZE",
                 "resize_migrated": "RESIZE", RESIZE_FINISH: "RESIZE"}

_STATE_MAP: dict[str, dict[str | None, str]] = {
    ACTIVE: {None: "ACTIVE", REBOOTING: "REBOOT", "reboot_pending": "REBOOT",
             "reboot_started": "REBOOT", REBOOTING_HARD: "HARD_REBOOT",
             "reboot_pending_hard": "HARD_REBOOT", "reboot_started_hard": "HARD_REBOOT",
             "rebuilding": "REBUILD", "rebuild_block_device_mapping": "REBUILD",
             "rebuild_spawning": "REBUILD", "migrating": "MIGRATING",
             "updating_password": "PASSWORD", **_RESIZE_TASKS},
    BUILDING: {None: "BUILD"},
    STOPPED: {None: "SHUTOFF", "rebuilding": "REBUILD", **_RESIZE_TASKS},
    RESIZED: {None: "VERIFY_RESIZE", RESIZE_REVERTING: "REVERT_RESIZE"},
    PAUSED_VM: {None: "PAUSED", "migrating": "MIGRATING"},
    SUSPENDED_VM: {None: "SUSPENDED"},
    RESCUED: {None: "RESCUE"},
    ERROR: {None: "ERROR", "rebuilding": "REBUILD"},
    DELETED: {None: "DELETED"},
    SOFT_DELETED: {None: "SOFT_DELETED"},
    SHELVED: {None: "SHELVED", SHELVING_OFFLOADING: "SHELVED", UNSHELVING: "SHELVED"},
    SHELVED_OFFLOADED: {None: "SHELVED_OFFLOADED", UNSHELVING: "SHELVED_OFFLOADED",
                        SPAWNING: "SHELVED_OFFLOADED"},
}

# Statuses Nova shows "progress" for.
PROGRESS_STATUSES = {"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"}


def status_from_state(vm_state: str, task_state: str | None) -> str:
    """The API status (``ACTIVE``, ``BUILD``, ``SHUTOFF`` ...) of a vm/task state pair."""
    by_task = _STATE_MAP.get(vm_state)
    if by_task is None:
        return "UNKNOWN"
    return by_task.get(task_state, by_task.get(None, "UNKNOWN"))


def states_for_status(status: str) -> list[tuple[str, str | None]] | None:
    """The (vm_state, task_state) pairs showing as ``status`` (task None = any task that
    keeps the default status); None when no state shows it."""
    status = status.upper()
    pairs: list[tuple[str, str | None]] = []
    for vm_state, by_task in _STATE_MAP.items():
        for task, shown in by_task.items():
            if shown == status:
                pairs.append((vm_state, task))
    return pairs or None
