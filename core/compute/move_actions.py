"""Server actions that move an instance or give it a new disk: shelve,
shelveOffload, unshelve, rebuild, migrate (cold), os-migrateLive, evacuate and
createBackup. Each checks the instance's state as Nova does (409 otherwise),
claims a task_state with a compare-and-swap, records the instance action and
a migration where Nova keeps one, and casts the work to the conductor or the
host's agent (core/conductor/shelve.py, migrate.py, resize.py)."""

from __future__ import annotations

import logging
from typing import Any

from core import errors
from core.clock import utcnow
from core.compute import image_meta, states
from core.compute.hosts import COMPUTE_BINARY, HostService
from core.compute.instance_store import UnexpectedState, instance_message
from core.compute.migration_records import COLD, EVACUATION, LIVE, MigrationRecords
from core.compute.models import Flavor, Instance
from core.compute.server_actions import ServerActions, load_for_action, wrong_state
from core.context import RequestContext
from core.image.listing import ImageQuery
from core.settings import Settings

log = logging.getLogger(__name__)

SHELVE = "os_compute_api:os-shelve:shelve"
SHELVE_OFFLOAD = "os_compute_api:os-shelve:shelve_offload"
UNSHELVE = "os_compute_api:os-shelve:unshelve"
REBUILD = "os_compute_api:servers:rebuild"
MIGRATE = "os_compute_api:os-migrate-server:migrate"
MIGRATE_LIVE = "os_compute_api:os-migrate-server:migrate_live"
EVACUATE = "os_compute_api:os-evacuate"
BACKUP = "os_compute_api:os-create-backup"

SHELVABLE = (states.ACTIVE, states.STOPPED, states.PAUSED_VM, states.SUSPENDED_VM)


class ComputeHostNotFound(errors.NotFound):
    pass


class MoveActions:
    """Moves of one server; shares the loading and state checks of ServerActions."""

    def __init__(self, actions: ServerActions, hosts: HostService,
                 migrations: MigrationRecords, settings: Settings) -> None:
        self.actions = actions
        self.servers = actions.servers
        self.store = actions.store
        self.images = actions.images
        self.conductor = actions.conductor
        self.agents = actions.agents
        self.notifier = actions.notifier
        self.hosts = hosts
        self.migrations = migrations
        self.settings = settings

    def _load(self, ctx: RequestContext, uuid: str, rule: str, action: str,
              vm_states: tuple[str, ...]) -> Instance:
        return load_for_action(self.servers, ctx, uuid, rule, action, vm_states)

    def _claim(self, ctx: RequestContext, inst: Instance, action: str, task: str,
               **values: Any) -> Instance:
        return self.actions._claim_task(ctx, inst, action, task, **values)

    # ---- shelve -----------------------------------------------------------------------
    def shelve(self, ctx: RequestContext, uuid: str) -> None:
        """SHELVED: powered off, its disk in an image ``<name>-shelved``; offloaded at
        once (SHELVED_OFFLOADED) when ``shelved_offload_time`` is 0, as Nova."""
        inst = self._load(ctx, uuid, SHELVE, "shelve", SHELVABLE)
        if not inst.host:
            raise wrong_state("shelve", inst)
        image_id = None
        if inst.image_ref:  # a volume-backed server keeps its disk in its volume
            image_id = self.actions.snapshot_image(ctx, inst, f"{inst.display_name}-shelved",
                                                   {}).id
        sysmeta = dict(inst.system_metadata or {}, shelved_at=utcnow().isoformat(),
                       shelved_image_id=image_id, shelved_host=inst.host)
        try:
            inst = self._claim(ctx, inst, "shelve", states.SHELVING, system_metadata=sysmeta)
        except errors.Conflict:
            if image_id:
                self.images.delete(ctx, image_id)
            raise
        self.notifier.instance(inst, "shelve.start")
        self.agents.shelve_instance(inst.host or "", instance_message(inst), image_id,
                                    self.settings.shelved_offload_time == 0)

    def shelve_offload(self, ctx: RequestContext, uuid: str) -> None:
        inst = self._load(ctx, uuid, SHELVE_OFFLOAD, "shelveOffload", (states.SHELVED,))
        inst = self._claim(ctx, inst, "shelveOffload", states.SHELVING_OFFLOADING)
        self.notifier.instance(inst, "shelve_offload.start")
        self.agents.shelve_offload_instance(inst.host or "", instance_message(inst))

    def unshelve(self, ctx: RequestContext, uuid: str) -> None:
        """ACTIVE again: on its host when only shelved, on a host the scheduler
        picks (and claims) when offloaded."""
        inst = self._load(ctx, uuid, UNSHELVE, "unshelve",
                          (states.SHELVED, states.SHELVED_OFFLOADED))
        inst = self._claim(ctx, inst, "unshelve", states.UNSHELVING)
        if inst.vm_state == states.SHELVED and inst.host:
            self.notifier.instance(inst, "unshelve.start")
            self.agents.unshelve_instance(inst.host, instance_message(inst), {})
            return
        image_id = (inst.system_metadata or {}).get("shelved_image_id") or inst.image_ref
        image = self.actions._image_of(ctx, inst) if not image_id else \
            {"id": image_id, "properties": {}, "min_ram": 0, "min_disk": 0}
        self.conductor.unshelve_instance(inst.uuid, self._spec(inst, image))

    # ---- rebuild ------------------------------------------------------------------------
    def rebuild(self, ctx: RequestContext, uuid: str, image_ref: str, *,
                name: str | None = None, metadata: dict[str, str] | None = None,
                preserve_ephemeral: bool = False) -> Instance:
        """The same server on the same host, spawned again from ``image_ref``."""
        inst = self._load(ctx, uuid, REBUILD, "rebuild",
                          (states.ACTIVE, states.STOPPED, states.ERROR))
        flavor = Flavor(memory_mb=inst.memory_mb, root_gb=inst.root_gb)
        image = self.actions.checks.image(ctx, image_ref, flavor)
        if metadata is not None:
            self.actions.checks.check_metadata(metadata)
        if not inst.host:
            raise wrong_state("rebuild", inst)
        values: dict[str, Any] = {"image_ref": image["id"], "progress": 0,
                                  "system_metadata": image_meta.with_image(
                                      inst.system_metadata, image, inst.flavor)}
        if name is not None:
            values["display_name"] = name
        if metadata is not None:
            values["metadata_items"] = dict(metadata)
        inst = self._claim(ctx, inst, "rebuild", states.REBUILDING, **values)
        self.notifier.instance(inst, "rebuild.start", image_ref_url=image["id"],
                               preserve_ephemeral=preserve_ephemeral)
        self.conductor.rebuild_instance(inst.uuid, image)
        return inst

    # ---- migrations ---------------------------------------------------------------------
    def migrate(self, ctx: RequestContext, uuid: str) -> None:
        """A cold migration: a resize to the same flavor on another host (VERIFY_RESIZE
        then confirmResize / revertResize)."""
        inst = self._load(ctx, uuid, MIGRATE, "migrate", (states.ACTIVE, states.STOPPED))
        if not inst.host:
            raise wrong_state("migrate", inst)
        try:
            inst = self.store.update(inst.uuid, {"task_state": states.RESIZE_PREP,
                                                 "new_flavor": inst.flavor},
                                     expected_task_state=[None],
                                     expected_vm_state=[inst.vm_state])
        except UnexpectedState:
            raise wrong_state("migrate", self.store.get(uuid), "task_state") from None
        self.servers.record_action(ctx, inst, "migrate")
        self.migrations.start(inst, COLD, "pre-migrating")
        image = self.actions._image_of(ctx, inst)
        spec = dict(self._spec(inst, image), ignore_hosts=[inst.host])
        self.conductor.resize_instance(inst.uuid, spec)

    def live_migrate(self, ctx: RequestContext, uuid: str, host: str | None) -> None:
        """Move the running guest to ``host`` (or one the scheduler picks)."""
        inst = self._load(ctx, uuid, MIGRATE_LIVE, "os-migrateLive",
                          (states.ACTIVE, states.PAUSED_VM))
        if not inst.host:
            raise wrong_state("os-migrateLive", inst)
        if host is not None:
            self._check_destination(host, inst, live=True)
        inst = self._claim(ctx, inst, "live-migration", states.MIGRATING)
        self.migrations.start(inst, LIVE, "accepted", dest=host)
        self.notifier.instance(inst, "live_migration._pre.start")
        # Below 2.30 a named host is forced: the scheduler checks only its room.
        spec = dict(self._spec(inst, self.actions._image_of(ctx, inst)), force_host=host)
        self.conductor.live_migrate_instance(inst.uuid, spec)

    def evacuate(self, ctx: RequestContext, uuid: str, host: str | None) -> None:
        """Rebuild the server on another host: its own host's compute service is down."""
        inst = self.servers.get(ctx, uuid, EVACUATE)
        if host is not None and host == inst.host:
            raise errors.InvalidInput("The target host can't be the same one.", param="host")
        if host is not None:
            self._check_destination(host, inst, live=False)
        if inst.vm_state not in (states.ACTIVE, states.STOPPED, states.ERROR):
            raise wrong_state("evacuate", inst)
        if inst.task_state is not None:
            raise wrong_state("evacuate", inst, "task_state")
        if not inst.host:
            raise wrong_state("evacuate", inst)
        if self._host_up(inst.host):
            raise errors.InvalidInput(f"Compute service of {inst.host} is still in use.")
        inst = self._claim(ctx, inst, "evacuate", states.REBUILDING)
        self.migrations.start(inst, EVACUATION, "accepted", dest=host)
        spec = dict(self._spec(inst, self.actions._image_of(ctx, inst)), force_host=host)
        self.conductor.evacuate_instance(inst.uuid, spec)

    def _check_destination(self, host: str, inst: Instance, live: bool) -> None:
        services = self.hosts.services_of(host, COMPUTE_BINARY)
        if not services:
            message = f"Compute host {host} could not be found."
            if live:  # Nova's live migration answers 400, evacuate 404
                raise errors.InvalidInput(message, param="host")
            raise ComputeHostNotFound(message, kind="host", id=host)
        if live and host == inst.host:
            raise errors.InvalidInput(f"Unable to migrate instance ({inst.uuid}) to current "
                                      f"host ({host}).", param="host")
        if not services[0].up:
            raise errors.InvalidInput(f"Compute service of {host} is unavailable at this "
                                      "time.", param="host")

    def _host_up(self, host: str) -> bool:
        services = self.hosts.services_of(host, COMPUTE_BINARY)
        return bool(services) and services[0].up

    def _spec(self, inst: Instance, image: dict) -> dict:
        return self.servers.request_spec(inst.project_id, inst.user_id, inst.flavor, image,
                                         inst.availability_zone, None,
                                         inst.scheduler_hints or {}, [inst.uuid])

    # ---- backups ------------------------------------------------------------------------
    def create_backup(self, ctx: RequestContext, uuid: str, name: str, backup_type: str,
                      rotation: int) -> str | None:
        """A snapshot image of type ``backup``; the server keeps at most ``rotation``
        backups of ``backup_type`` (the oldest go). Rotation 0 deletes them all and
        makes none. Returns the new image's id."""
        inst = self.actions._load(ctx, uuid, "os-create-backup", "createBackup", SHELVABLE,
                                  check_lock=False)
        if not inst.host:
            raise wrong_state("createBackup", inst)
        if not inst.image_ref:
            raise errors.InvalidInput("Backup is not supported for volume-backed instances.")
        image_id = None
        if rotation > 0:
            image = self.actions.snapshot_image(ctx, inst, name, {}, image_type="backup",
                                                backup_type=backup_type)
            image_id = image.id
            try:
                inst = self._claim(ctx, inst, "createBackup", states.IMAGE_SNAPSHOT)
            except errors.Conflict:
                self.images.delete(ctx, image.id)
                raise
            self.notifier.instance(inst, "snapshot.start", image_id=image.id)
            self.agents.snapshot_instance(inst.host or "", instance_message(inst), image.id)
        self._rotate(ctx, inst, backup_type, rotation, image_id)
        return image_id

    def _rotate(self, ctx: RequestContext, inst: Instance, backup_type: str, rotation: int,
                keep: str | None) -> None:
        query = ImageQuery(properties={"instance_uuid": inst.uuid, "image_type": "backup",
                                       "backup_type": backup_type},
                           sort=[("created_at", "desc")], limit=1000)
        backups, _more = self.images.list_images(ctx, query)
        ids = [v.image.id for v in backups if v.image.id != keep]
        if keep is not None:
            ids = [keep, *ids]
        for image_id in ids[rotation:]:
            try:
                self.images.delete(ctx, image_id)
            except errors.CoreError as exc:
                log.info("rotating the backups of %s: %s kept (%s)", inst.uuid, image_id, exc)
