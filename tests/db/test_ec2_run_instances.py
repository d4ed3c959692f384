"""RunInstances' ClientToken and terminated instances on every database back
end: calls racing with one token boot one reservation (the unique key on the
instances decides), a different request with the token is refused, and
DescribeInstances shows deleted instances only within the visibility window."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from core import errors
from core.compute.bootstrap import ensure_default_flavors
from core.network.bootstrap import ensure_default_networks
from core.compute.models import Instance
from core.compute.server_listing import ServerQuery
from core.compute.servers import BootRequest, IdempotentMismatch
from core.db.base import utcnow
from core.image.bootstrap import ensure_default_image
from gateway.ec2.api import Call
from gateway.ec2.errors import from_core
from gateway.ec2.handlers.instances import Instances

THREADS = 6


@pytest.fixture
def boot(services, admin_ctx, db) -> BootRequest:
    image = ensure_default_image(services.images, admin_ctx)
    flavor = ensure_default_flavors(db)[0]
    ensure_default_networks(db, services.settings, "p-admin")
    return BootRequest(name="raced", image_ref=image.id, flavor_ref=flavor, min_count=2,
                       max_count=2, client_token="token-1", request_hash="a" * 64,
                       ec2_names=True)


def _instances(db, project: str) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Instance)
                        .where(Instance.project_id == project)) or 0


def test_racing_calls_with_one_token_boot_once(services, admin_ctx, boot, db):
    start = threading.Barrier(THREADS)
    answers: list[object] = []
    lock = threading.Lock()

    def worker() -> None:
        start.wait()
        try:
            reservation, made = services.servers.create(admin_ctx, boot)
            result: object = (reservation, sorted(i.uuid for i in made))
        except Exception as exc:  # noqa: BLE001 - reported below
            result = exc
        with lock:
            answers.append(result)

    pool = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=180)
    assert len(answers) == THREADS, "a worker hung"
    assert [a for a in answers if isinstance(a, Exception)] == []
    assert len({repr(a) for a in answers}) == 1  # one reservation, the same two instances
    assert _instances(db, admin_ctx.project_id) == 2
    made = services.servers.by_client_token(admin_ctx.project_id, "token-1")
    assert [i.display_name for i in made] == ["raced", "raced"]  # EC2 names: no "-N"


def test_a_different_request_with_the_token_is_refused(services, admin_ctx, boot, db):
    services.servers.create(admin_ctx, boot)
    with pytest.raises(IdempotentMismatch):
        services.servers.create(admin_ctx, replace(boot, request_hash="b" * 64))
    other = services.servers.create(admin_ctx, replace(boot, client_token="token-2"))
    assert len(other[1]) == 2 and _instances(db, admin_ctx.project_id) == 4


def test_terminated_instances_stay_visible_for_a_while(services, ec2_deps, admin_ctx, boot,
                                                        db):
    _, made = services.servers.create(admin_ctx, replace(boot, client_token=None))
    recent, old = made
    now = utcnow()
    with db.session() as s:
        for inst, when in ((recent, now - timedelta(minutes=5)), (old, now - timedelta(hours=2))):
            s.execute(update(Instance).where(Instance.uuid == inst.uuid).values(
                deleted=True, deleted_at=when, vm_state="deleted", task_state=None))
    handler = Instances(ec2_deps)
    ids = handler.ec2_ids(made)

    def describe(**params) -> dict[str, str]:
        answer = handler.describe_instances(Call(admin_ctx, "DescribeInstances", params, "r"))
        return {i["InstanceId"]: i["State"]["Name"]
                for r in answer["Reservations"] for i in r["Instances"]}

    assert describe() == {ids[recent.uuid]: "terminated"}
    assert describe(InstanceIds=[ids[recent.uuid]]) == {ids[recent.uuid]: "terminated"}
    with pytest.raises(errors.NotFound) as info:
        describe(InstanceIds=[ids[old.uuid]])
    assert from_core(info.value).code == "InvalidInstanceID.NotFound"
    # Nova's own listing shows neither.
    listed, _ = services.servers.list_servers(
        admin_ctx, ServerQuery(project_id=admin_ctx.project_id), detail=True)
    assert {i.uuid for i in listed} & {recent.uuid, old.uuid} == set()
