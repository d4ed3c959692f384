"""Snapshots: the agent sends the guest's disk, the conductor stores it as the
image's data and activates the image, or deletes the image when the snapshot
failed (or its instance went away), as Nova does."""

from __future__ import annotations

import base64
import logging

from core import errors
from core.compute import states
from core.compute.instance_store import InstanceNotFound, UnexpectedState
from core.conductor.tasks import ConductorDeps
from core.context import RequestContext

log = logging.getLogger(__name__)


class Snapshots:
    def __init__(self, deps: ConductorDeps) -> None:
        self.deps = deps

    def upload_snapshot(self, uuid: str, image_id: str, data_b64: str,
                        error: str | None = None) -> dict:
        deps, images = self.deps, self.deps.images
        try:
            inst = deps.store.get(uuid, deleted=True)
        except InstanceNotFound:
            inst = None
        ok = False
        if inst is not None and error is None and (
                inst.deleted or inst.task_state == states.DELETING):
            # Nova: the instance got deleted during the snapshot, so its image goes
            # (UnexpectedDeletingTaskStateError in the compute manager's snapshot).
            error = f"Instance {uuid} was deleted during the snapshot."
        ctx = RequestContext(user_id=inst.user_id if inst else None,
                             project_id=inst.project_id if inst else None,
                             roles=("admin", "member", "reader"), is_admin=True)
        if error is None and images is not None and inst is not None:
            try:
                store, limit = images.data.begin_upload(ctx, image_id, None)
                images.data.store_data(image_id, store, limit,
                                       [base64.b64decode(data_b64)], "saving")
                ok = True
            except errors.CoreError as exc:
                error = exc.message
        if not ok and images is not None:
            try:
                # A repeated request must not delete what its first run stored.
                if images.show(ctx, image_id).image.status != "active":
                    images.delete(ctx, image_id)
                else:
                    ok, error = True, None
            except errors.NotFound:
                pass
            except errors.CoreError:
                log.warning("could not delete the failed snapshot %s", image_id,
                            exc_info=True)
        if inst is not None and not inst.deleted:
            try:
                deps.store.update(uuid, {"task_state": None},
                                  expected_task_state=[states.IMAGE_SNAPSHOT,
                                                       states.IMAGE_UPLOADING])
            except (InstanceNotFound, UnexpectedState):
                pass
        if inst is not None:
            if ok:
                deps.notifier.instance(inst, "snapshot.end", image_id=image_id)
            else:
                deps.notifier.instance(inst, "snapshot.error", priority="error",
                                       image_id=image_id, message=error)
        return {"ok": ok, "error": error}
