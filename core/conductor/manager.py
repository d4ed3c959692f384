"""The conductor's RPC endpoints: the long instance flows the API casts (build
with rescheduling, delete, resize, revert) and the short calls through which
compute agents reach the database. Each endpoint hands its message to the flow
that owns it (one module per flow in this package); the long flows run as
:class:`~core.conductor.tasks.Task` runs that roll back what they did when a
step fails.

Every endpoint is idempotent. A message delivered twice (RabbitMQ redelivers the
message of a conductor that died mid-flow) finds the instance already moved on
— each step is a compare-and-swap on the instance's task_state — and does nothing
twice that anyone could see.
"""

from __future__ import annotations

from core.conductor.agents_api import AgentRequests
from core.conductor.build import BuildInstances, BuildResults
from core.conductor.delete import Deletes
from core.conductor.migrate import EvacuateInstance, LiveMigrateInstance, Moves
from core.conductor.recovery import Recovery
from core.conductor.resize import ResizeInstance, Resizes
from core.conductor.shelve import Shelves, UnshelveInstance
from core.conductor.snapshot import Snapshots
from core.conductor.tasks import ConductorDeps
from core.conductor.volumes import VolumeAttachments


class Conductor:
    def __init__(self, deps: ConductorDeps, builds: BuildResults, deletes: Deletes,
                 resizes: Resizes, snapshots: Snapshots, agents: AgentRequests,
                 recovery: Recovery, volumes: VolumeAttachments | None = None,
                 shelves: Shelves | None = None, moves: Moves | None = None) -> None:
        self.deps = deps
        self.builds = builds
        self.deletes = deletes
        self.resizes = resizes
        self.snapshots = snapshots
        self.agents = agents
        self.recovery = recovery
        self.volumes = volumes or VolumeAttachments(deps)
        self.shelves = shelves or Shelves(deps)
        self.moves = moves or Moves(deps)

    # ==== the API's casts (the ``conductor`` queue) ==========================
    def build_instances(self, instance_uuids: list[str], request_spec: dict) -> None:
        BuildInstances(self.deps, instance_uuids, request_spec).execute()

    def delete_instance(self, uuid: str) -> None:
        self.deletes.delete_instance(uuid)

    def resize_instance(self, uuid: str, request_spec: dict) -> None:
        ResizeInstance(self.deps, uuid, request_spec).execute()

    def revert_resize(self, uuid: str) -> None:
        self.resizes.revert_resize(uuid)

    def detach_volume(self, instance_uuid: str, attachment_id: str) -> None:
        self.volumes.detach_volume(instance_uuid, attachment_id)

    def unshelve_instance(self, uuid: str, request_spec: dict) -> None:
        UnshelveInstance(self.deps, uuid, request_spec).execute()

    def live_migrate_instance(self, uuid: str, request_spec: dict) -> None:
        LiveMigrateInstance(self.deps, uuid, request_spec).execute()

    def evacuate_instance(self, uuid: str, request_spec: dict) -> None:
        EvacuateInstance(self.deps, uuid, request_spec).execute()

    def rebuild_instance(self, uuid: str, image: dict) -> None:
        self.moves.rebuild_instance(uuid, image)

    # ==== the API's short call (on the agents' queue: it answers at once) ======
    def attach_volume(self, instance_uuid: str, volume_id: str, context: dict,
                      device: str | None = None, tag: str | None = None,
                      delete_on_termination: bool = False,
                      ec2_device: str | None = None) -> dict:
        return self.volumes.attach_volume(instance_uuid, volume_id, context, device, tag,
                                          delete_on_termination, ec2_device)

    # ==== the agents' calls (the ``conductor-agents`` queue) ===================
    def report_node(self, node: dict) -> dict:
        return self.agents.report_node(node)

    def heartbeat(self, host: str) -> dict:
        return self.agents.heartbeat(host)

    def instance_update(self, uuid: str, values: dict, expected_task_state: list | None,
                        host: str | None = None) -> dict:
        return self.agents.instance_update(uuid, values, expected_task_state, host)

    def action_finished(self, uuid: str, host: str, action: str, values: dict,
                        expected_task_state: list, error: str | None = None) -> dict:
        return self.agents.action_finished(uuid, host, action, values, expected_task_state,
                                           error)

    def settled_instances(self, host: str) -> dict[str, int]:
        return self.recovery.settled_instances(host)

    def sync_power_states(self, host: str, power_states: dict[str, int],
                          settled: dict[str, int]) -> dict:
        return self.recovery.sync_power_states(host, power_states, settled)

    def build_succeeded(self, uuid: str, host: str, power_state: int) -> dict:
        return self.builds.build_succeeded(uuid, host, power_state)

    def build_failed(self, uuid: str, host: str, reason: str, alternates: list[dict],
                     image: dict | None = None) -> None:
        self.builds.build_failed(uuid, host, reason, alternates, image)

    def instance_destroyed(self, uuid: str, host: str) -> dict:
        return self.deletes.instance_destroyed(uuid, host)

    def resize_finished(self, uuid: str, host: str, error: str | None = None) -> dict:
        return self.resizes.resize_finished(uuid, host, error)

    def shelve_finished(self, uuid: str, host: str, offloaded: bool,
                        error: str | None = None) -> dict:
        return self.shelves.shelve_finished(uuid, host, offloaded, error)

    def unshelve_finished(self, uuid: str, host: str, power_state: int,
                          error: str | None = None) -> dict:
        return self.shelves.unshelve_finished(uuid, host, power_state, error)

    def rebuild_finished(self, uuid: str, host: str, power_state: int,
                         error: str | None = None) -> dict:
        return self.moves.rebuild_finished(uuid, host, power_state, error)

    def live_migration_finished(self, uuid: str, host: str, error: str | None = None) -> dict:
        return self.moves.live_migration_finished(uuid, host, error)

    def volume_attached(self, instance_uuid: str, attachment_id: str, host: str,
                        connector: dict, error: str | None = None) -> dict:
        return self.volumes.volume_attached(instance_uuid, attachment_id, host, connector,
                                            error)

    def volume_detached(self, instance_uuid: str, attachment_id: str, host: str,
                        error: str | None = None) -> dict:
        return self.volumes.volume_detached(instance_uuid, attachment_id, host, error)

    def upload_snapshot(self, uuid: str, image_id: str, data_b64: str,
                        error: str | None = None) -> dict:
        return self.snapshots.upload_snapshot(uuid, image_id, data_b64, error)
