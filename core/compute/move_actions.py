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
from core.compute import states
from core.compute.hosts import COMPUTE_BINARY, HostService
from core.compute.instance_actions import InstanceActionRecords
from core.compute.instance_store import UnexpectedState, instance_message
from core.compute.migration_records import COLD, EVACUATION, LIVE, MigrationRecords
from core.compute.models import Instance
from core.compute.rebuild import KEEP, RebuildRequest, rebuild
from core.compute.server_actions import ServerActions, load_for_action, wrong_state
from core.context import RequestContext
from core.image.listing import ImageQuery
from core.settings import Settings

log = logging.getLogger(__name__)

SHELVE = "os_compute_api:os-shelve:shelve"
SHELVE_OFFLOAD = "os_compute_api:os-shelve:shelve_offload"
UNSHELVE = "os_compute_api:os-shelve:unshelve"
MIGRATE = "os_compute_api:os-migrate-server:migrate"
MIGRATE_LIVE = "os_compute_api:os-migrate-server:migrate_live"
EVACUATE = "os_compute_api:os-evacuate"
BACKUP = "os_compute_api:os-create-backup"
UNSHELVE_HOST = "os_compute_api:os-shelve:unshelve_to_host"

SHELVABLE = (states.ACTIVE, states.STOPPED, states.PAUSED_VM, states.SUSPENDED_VM)


class ComputeHostNotFound(errors.NotFound):
    pass


def _destination(host: str | None, force: bool | None) -> dict[str, str | None]:
    """A named host is forced (no filters) when ``force`` is None (the versions
    before the flag) or True; otherwise the scheduler's filters check it."""
    if host is None:
        return {}
    return {"force_host": host} if force is not False else {"requested_host": host}


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

    def unshelve(self, ctx: RequestContext, uuid: str, availability_zone: Any = KEEP,
                 host: str | None = None) -> None:
        """ACTIVE again: on its host when only shelved, on a host the scheduler
        picks (and claims) when offloaded: in ``availability_zone`` when given
        (2.77; None unpins the server, 2.91), on ``host`` when given (2.91, admin;
        the scheduler still checks it)."""
        if host is not None:  # Nova checks both rules before the server's state
            found = self.servers.get(ctx, uuid, UNSHELVE)
            self.servers.policy.enforce(UNSHELVE_HOST, {"project_id": found.project_id,
                                                        "user_id": found.user_id}, ctx)
        inst = self._load(ctx, uuid, UNSHELVE, "unshelve",
                          (states.SHELVED, states.SHELVED_OFFLOADED))
        values: dict[str, Any] = {}
        if availability_zone is not KEEP or host is not None:
            values = self._unshelve_target(ctx, inst, availability_zone, host)
        inst = self._claim(ctx, inst, "unshelve", states.UNSHELVING, **values)
        if inst.vm_state == states.SHELVED and inst.host:
            self.notifier.instance(inst, "unshelve.start")
            self.agents.unshelve_instance(inst.host, instance_message(inst), {})
            return
        image_id = (inst.system_metadata or {}).get("shelved_image_id") or inst.image_ref
        image = self.actions._image_of(ctx, inst) if not image_id else \
            {"id": image_id, "properties": {}, "min_ram": 0, "min_disk": 0}
        spec = self._spec(inst, image)
        if host is not None:
            spec["requested_host"] = host
        self.conductor.unshelve_instance(inst.uuid, spec)

    def _unshelve_target(self, ctx: RequestContext, inst: Instance, zone: Any,
                         host: str | None) -> dict[str, Any]:
        """Nova's checks of an unshelve to a zone or a host: only an offloaded server
        moves (409), the zone must exist (400) and hold the host (409)."""
        if inst.vm_state != states.SHELVED_OFFLOADED:
            raise errors.Conflict(f"The unshelve action failed: The server {inst.uuid} is "
                                  f"not in SHELVED_OFFLOADED state (it is {inst.vm_state}).",
                                  kind="instance", id=inst.uuid, state=inst.vm_state)
        if host is not None:
            services = self.hosts.services_of(host, COMPUTE_BINARY)
            if not services:
                raise errors.InvalidInput(f"Compute host {host} could not be found.",
                                          param="host")
        values: dict[str, Any] = {}
        zones = self._compute_zones()
        if zone is not KEEP:
            if zone is not None and zone not in zones.values():
                raise errors.InvalidInput("The requested availability zone is not available",
                                          param="availability_zone")
            values = {"availability_zone": zone, "requested_availability_zone": zone}
        if host is not None and zone not in (KEEP, None) and zones.get(host) != zone:
            raise errors.Conflict(f'Host "{host}" is not in the availability zone "{zone}".',
                                  kind="host", id=host)
        return values

    def _compute_zones(self) -> dict[str, str]:
        """Each compute host's availability zone."""
        with self.hosts.db.session() as s:
            return {v.service.host: v.zone
                    for v in self.hosts._services(s, binary=COMPUTE_BINARY)}

    # ---- rebuild (core/compute/rebuild.py) -----------------------------------------------
    def rebuild(self, ctx: RequestContext, uuid: str, req: RebuildRequest) -> Instance:
        """The same server on the same host, spawned again from ``req.image_ref``."""
        return rebuild(self, ctx, uuid, req)

    # ---- migrations ---------------------------------------------------------------------
    def migrate(self, ctx: RequestContext, uuid: str, host: str | None = None) -> None:
        """A cold migration: a resize to the same flavor on another host (VERIFY_RESIZE
        then confirmResize / revertResize); to ``host`` when given (2.56: the
        scheduler still checks it)."""
        inst = self._load(ctx, uuid, MIGRATE, "migrate", (states.ACTIVE, states.STOPPED))
        if not inst.host:
            raise wrong_state("migrate", inst)
        if host is not None:
            if host == inst.host:
                raise errors.InvalidInput("Cannot migrate to the same host.", param="host")
            if not self.hosts.services_of(host, COMPUTE_BINARY):
                raise errors.InvalidInput(f"Compute host {host} could not be found.",
                                          param="host")
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
        spec = dict(self._spec(inst, image), ignore_hosts=[inst.host], requested_host=host)
        self.conductor.resize_instance(inst.uuid, spec)

    def live_migrate(self, ctx: RequestContext, uuid: str, host: str | None,
                     force: bool | None = None, async_prechecks: bool = False) -> None:
        """Move the running guest to ``host`` (or one the scheduler picks). A named
        host is used as given when ``force`` is None (below 2.30) or True, else the
        scheduler checks it. With ``async_prechecks`` (2.34) a failed check of the
        destination is no 400: the action records it and the server stays ACTIVE."""
        inst = self._load(ctx, uuid, MIGRATE_LIVE, "os-migrateLive",
                          (states.ACTIVE, states.PAUSED_VM))
        if not inst.host:
            raise wrong_state("os-migrateLive", inst)
        if host is not None:
            if not self.hosts.services_of(host, COMPUTE_BINARY):
                raise errors.InvalidInput(f"Compute host {host} could not be found.",
                                          param="host")
            try:
                self._check_destination(host, inst, live=True)
            except errors.InvalidInput as exc:
                if not async_prechecks:
                    raise
                self._precheck_failed(ctx, inst, host, str(exc))
                return
        inst = self._claim(ctx, inst, "live-migration", states.MIGRATING)
        self.migrations.start(inst, LIVE, "accepted", dest=host)
        self.notifier.instance(inst, "live_migration._pre.start")
        spec = dict(self._spec(inst, self.actions._image_of(ctx, inst)),
                    **_destination(host, force))
        self.conductor.live_migrate_instance(inst.uuid, spec)

    def _precheck_failed(self, ctx: RequestContext, inst: Instance, host: str,
                         message: str) -> None:
        """What Nova's conductor leaves when an asynchronous live-migration precheck
        fails: the action with an Error event, the migration in error, the server
        as it was."""
        self.servers.record_action(ctx, inst, "live-migration")
        self.migrations.start(inst, LIVE, "error", dest=host)
        InstanceActionRecords(self.servers.db).record_event(
            inst.uuid, ctx.request_id, "conductor_live_migrate_instance", inst.host,
            error=f"MigrationPreCheckError: {message}", details=message)

    def evacuate(self, ctx: RequestContext, uuid: str, host: str | None,
                 force: bool | None = None, stop: bool = False) -> None:
        """Rebuild the server on another host: its own host's compute service is down.
        A named host is used as given when ``force`` is None (below 2.29) or True,
        else the scheduler checks it; ``stop`` (2.95): the server ends SHUTOFF."""
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
        spec = dict(self._spec(inst, self.actions._image_of(ctx, inst)),
                    **_destination(host, force))
        if stop:
            spec["target_state"] = states.STOPPED
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
