"""Typed clients for the control plane's RPC topics, so callers never spell method
names or payload keys: ``conductor`` (any conductor), ``compute`` (one agent, by
host) and ``scheduler``."""

from __future__ import annotations

from typing import Any

from core.messaging.interfaces import MessageBus

CONDUCTOR = "conductor"
# The conductor's second queue: short calls from compute agents (reports, state
# changes), kept apart from the long flows so they never wait behind a burst.
CONDUCTOR_AGENTS = "conductor-agents"
COMPUTE = "compute"
SCHEDULER = "scheduler"


class ConductorClient:
    def __init__(self, bus: MessageBus, timeout: float = 60.0) -> None:
        self.bus = bus
        self.timeout = timeout

    # ---- long flows (cast by the API) -----------------------------------
    def build_instances(self, instance_uuids: list[str], request_spec: dict) -> None:
        self.bus.cast(CONDUCTOR, "build_instances",
                      {"instance_uuids": instance_uuids, "request_spec": request_spec})

    def delete_instance(self, uuid: str) -> None:
        self.bus.cast(CONDUCTOR, "delete_instance", {"uuid": uuid})

    def resize_instance(self, uuid: str, request_spec: dict) -> None:
        self.bus.cast(CONDUCTOR, "resize_instance", {"uuid": uuid, "request_spec": request_spec})

    def confirm_resize(self, uuid: str) -> None:
        self.bus.cast(CONDUCTOR, "confirm_resize", {"uuid": uuid})

    def revert_resize(self, uuid: str) -> None:
        self.bus.cast(CONDUCTOR, "revert_resize", {"uuid": uuid})

    def unshelve_instance(self, uuid: str, request_spec: dict) -> None:
        self.bus.cast(CONDUCTOR, "unshelve_instance", {"uuid": uuid,
                                                       "request_spec": request_spec})

    def live_migrate_instance(self, uuid: str, request_spec: dict) -> None:
        self.bus.cast(CONDUCTOR, "live_migrate_instance", {"uuid": uuid,
                                                           "request_spec": request_spec})

    def evacuate_instance(self, uuid: str, request_spec: dict) -> None:
        self.bus.cast(CONDUCTOR, "evacuate_instance", {"uuid": uuid,
                                                       "request_spec": request_spec})

    def rebuild_instance(self, uuid: str, image: dict) -> None:
        self.bus.cast(CONDUCTOR, "rebuild_instance", {"uuid": uuid, "image": image})

    def detach_volume(self, instance_uuid: str, attachment_id: str) -> None:
        self.bus.cast(CONDUCTOR, "detach_volume",
                      {"instance_uuid": instance_uuid, "attachment_id": attachment_id})

    # ---- short calls the API waits for (on the agents' quick queue) ----------
    def attach_volume(self, instance_uuid: str, volume_id: str, context: dict, *,
                      device: str | None = None, tag: str | None = None,
                      delete_on_termination: bool = False,
                      ec2_device: str | None = None) -> dict:
        """Reserve the volume and a device name for the instance; the answer is
        ``{"ok": True, "attachment": {...}}`` or ``{"ok": False, "category", "message"}``."""
        return self.bus.call(CONDUCTOR_AGENTS, "attach_volume",
                             {"instance_uuid": instance_uuid, "volume_id": volume_id,
                              "context": context, "device": device, "tag": tag,
                              "delete_on_termination": delete_on_termination,
                              "ec2_device": ec2_device}, timeout=self.timeout)

    # ---- what agents ask (calls: they need the answer) --------------------
    def report_node(self, node: dict) -> dict:
        return self.bus.call(CONDUCTOR_AGENTS, "report_node", {"node": node},
                             timeout=self.timeout)

    def heartbeat(self, host: str) -> dict:
        return self.bus.call(CONDUCTOR_AGENTS, "heartbeat", {"host": host}, timeout=self.timeout)

    def settled_instances(self, host: str) -> dict[str, int]:
        return self.bus.call(CONDUCTOR_AGENTS, "settled_instances", {"host": host},
                             timeout=self.timeout)

    def sync_power_states(self, host: str, power_states: dict[str, int],
                          settled: dict[str, int]) -> dict:
        return self.bus.call(CONDUCTOR_AGENTS, "sync_power_states",
                             {"host": host, "power_states": power_states,
                              "settled": settled}, timeout=self.timeout)

    def instance_update(self, uuid: str, values: dict, expected_task_state: list | None,
                        host: str | None = None) -> dict:
        return self.bus.call(CONDUCTOR_AGENTS, "instance_update",
                             {"uuid": uuid, "values": values, "host": host,
                              "expected_task_state": expected_task_state},
                             timeout=self.timeout)

    def build_succeeded(self, uuid: str, host: str, power_state: int) -> dict:
        return self.bus.call(CONDUCTOR_AGENTS, "build_succeeded",
                             {"uuid": uuid, "host": host, "power_state": power_state},
                             timeout=self.timeout)

    def build_failed(self, uuid: str, host: str, reason: str, alternates: list[dict],
                     image: dict) -> None:
        self.bus.cast(CONDUCTOR_AGENTS, "build_failed",
                      {"uuid": uuid, "host": host, "reason": reason,
                       "alternates": alternates, "image": image})

    def action_finished(self, uuid: str, host: str, action: str, values: dict,
                        expected_task_state: list, error: str | None = None) -> dict:
        return self.bus.call(CONDUCTOR_AGENTS, "action_finished",
                             {"uuid": uuid, "host": host, "action": action, "values": values,
                              "expected_task_state": expected_task_state, "error": error},
                             timeout=self.timeout)

    def instance_destroyed(self, uuid: str, host: str) -> dict:
        return self.bus.call(CONDUCTOR_AGENTS, "instance_destroyed",
                             {"uuid": uuid, "host": host}, timeout=self.timeout)

    def upload_snapshot(self, uuid: str, image_id: str, data_b64: str,
                        error: str | None = None) -> dict:
        return self.bus.call(CONDUCTOR_AGENTS, "upload_snapshot",
                             {"uuid": uuid, "image_id": image_id, "data_b64": data_b64,
                              "error": error}, timeout=self.timeout)

    def resize_finished(self, uuid: str, host: str, error: str | None = None) -> dict:
        return self.bus.call(CONDUCTOR_AGENTS, "resize_finished",
                             {"uuid": uuid, "host": host, "error": error}, timeout=self.timeout)

    def shelve_finished(self, uuid: str, host: str, offloaded: bool,
                        error: str | None = None) -> dict:
        return self.bus.call(CONDUCTOR_AGENTS, "shelve_finished",
                             {"uuid": uuid, "host": host, "offloaded": offloaded,
                              "error": error}, timeout=self.timeout)

    def unshelve_finished(self, uuid: str, host: str, power_state: int,
                          error: str | None = None) -> dict:
        return self.bus.call(CONDUCTOR_AGENTS, "unshelve_finished",
                             {"uuid": uuid, "host": host, "power_state": power_state,
                              "error": error}, timeout=self.timeout)

    def rebuild_finished(self, uuid: str, host: str, power_state: int,
                         error: str | None = None) -> dict:
        return self.bus.call(CONDUCTOR_AGENTS, "rebuild_finished",
                             {"uuid": uuid, "host": host, "power_state": power_state,
                              "error": error}, timeout=self.timeout)

    def live_migration_finished(self, uuid: str, host: str, error: str | None = None) -> dict:
        return self.bus.call(CONDUCTOR_AGENTS, "live_migration_finished",
                             {"uuid": uuid, "host": host, "error": error},
                             timeout=self.timeout)

    def volume_attached(self, instance_uuid: str, attachment_id: str, host: str,
                        connector: dict, error: str | None = None) -> dict:
        return self.bus.call(CONDUCTOR_AGENTS, "volume_attached",
                             {"instance_uuid": instance_uuid, "attachment_id": attachment_id,
                              "host": host, "connector": connector, "error": error},
                             timeout=self.timeout)

    def volume_detached(self, instance_uuid: str, attachment_id: str, host: str,
                        error: str | None = None) -> dict:
        return self.bus.call(CONDUCTOR_AGENTS, "volume_detached",
                             {"instance_uuid": instance_uuid, "attachment_id": attachment_id,
                              "host": host, "error": error}, timeout=self.timeout)


class AgentClient:
    """Casts (and a few calls) to the agent of one host."""

    def __init__(self, bus: MessageBus, timeout: float = 30.0) -> None:
        self.bus = bus
        self.timeout = timeout

    def _cast(self, host: str, method: str, **payload: Any) -> None:
        self.bus.cast(COMPUTE, method, payload, server=host)

    def build_and_run_instance(self, host: str, instance: dict, image: dict,
                               alternates: list[dict]) -> None:
        self._cast(host, "build_and_run_instance", instance=instance, image=image,
                   alternates=alternates)

    def terminate_instance(self, host: str, instance: dict) -> None:
        self._cast(host, "terminate_instance", instance=instance)

    def stop_instance(self, host: str, instance: dict) -> None:
        self._cast(host, "stop_instance", instance=instance)

    def start_instance(self, host: str, instance: dict) -> None:
        self._cast(host, "start_instance", instance=instance)

    def reboot_instance(self, host: str, instance: dict, hard: bool) -> None:
        self._cast(host, "reboot_instance", instance=instance, hard=hard)

    def pause_instance(self, host: str, instance: dict) -> None:
        self._cast(host, "pause_instance", instance=instance)

    def unpause_instance(self, host: str, instance: dict) -> None:
        self._cast(host, "unpause_instance", instance=instance)

    def suspend_instance(self, host: str, instance: dict) -> None:
        self._cast(host, "suspend_instance", instance=instance)

    def resume_instance(self, host: str, instance: dict) -> None:
        self._cast(host, "resume_instance", instance=instance)

    def rescue_instance(self, host: str, instance: dict, image: dict, password: str) -> None:
        self._cast(host, "rescue_instance", instance=instance, image=image, password=password)

    def unrescue_instance(self, host: str, instance: dict) -> None:
        self._cast(host, "unrescue_instance", instance=instance)

    def set_admin_password(self, host: str, instance: dict, password: str) -> None:
        self._cast(host, "set_admin_password", instance=instance, password=password)

    def soft_delete_instance(self, host: str, instance: dict) -> None:
        self._cast(host, "soft_delete_instance", instance=instance)

    def restore_instance(self, host: str, instance: dict) -> None:
        self._cast(host, "restore_instance", instance=instance)

    def finish_resize(self, host: str, instance: dict, flavor: dict) -> None:
        self._cast(host, "finish_resize", instance=instance, flavor=flavor)

    def destroy_copy(self, host: str, instance: dict) -> None:
        """Remove the instance's copy on ``host`` (the other side of a resize)."""
        self._cast(host, "destroy_copy", instance=instance)

    def shelve_instance(self, host: str, instance: dict, image_id: str | None,
                        offload: bool) -> None:
        self._cast(host, "shelve_instance", instance=instance, image_id=image_id,
                   offload=offload)

    def shelve_offload_instance(self, host: str, instance: dict) -> None:
        self._cast(host, "shelve_offload_instance", instance=instance)

    def unshelve_instance(self, host: str, instance: dict, image: dict) -> None:
        self._cast(host, "unshelve_instance", instance=instance, image=image)

    def rebuild_instance(self, host: str, instance: dict, image: dict,
                         evacuate: bool = False) -> None:
        self._cast(host, "rebuild_instance", instance=instance, image=image,
                   evacuate=evacuate)

    def live_migrate_in(self, host: str, instance: dict, source: str) -> None:
        self._cast(host, "live_migrate_in", instance=instance, source=source)

    def trigger_crash_dump(self, host: str, instance: dict) -> None:
        self._cast(host, "trigger_crash_dump", instance=instance)

    def snapshot_instance(self, host: str, instance: dict, image_id: str) -> None:
        self._cast(host, "snapshot_instance", instance=instance, image_id=image_id)

    def attach_volume(self, host: str, instance: dict, attachment: dict) -> None:
        self._cast(host, "attach_volume", instance=instance, attachment=attachment)

    def detach_volume(self, host: str, instance: dict, attachment: dict) -> None:
        self._cast(host, "detach_volume", instance=instance, attachment=attachment)

    def get_console_output(self, host: str, instance: dict, length: int | None) -> str:
        return self.bus.call(COMPUTE, "get_console_output",
                             {"instance": instance, "length": length},
                             timeout=self.timeout, server=host)

    def cache_images(self, host: str, image_ids: list[str]) -> None:
        self._cast(host, "cache_images", image_ids=image_ids)

    def get_diagnostics(self, host: str, instance: dict) -> dict:
        return self.bus.call(COMPUTE, "get_diagnostics", {"instance": instance},
                             timeout=self.timeout, server=host)
