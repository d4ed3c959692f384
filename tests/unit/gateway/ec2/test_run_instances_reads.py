"""RunInstances is a translation of parameters into the compute service's boot:
it reads the database no more than the equivalent ``POST /servers`` does, but
for EC2's ID-map lookups and one ClientToken read (counted with SQLAlchemy's
``before_cursor_execute`` hook, from the handler's entry; authentication is
done before it).

The Nova side is ``ServerService.create``, which is all of the database work
``POST /servers`` does after authentication (its handler parses the body and
answers from what ``create`` returns)."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event

from core.apis import SERVED_APIS
from core.compute.bootstrap import ensure_default_flavors
from core.compute.servers import BootRequest
from core.context import RequestContext
from core.db import Database
from core.db.migrate import upgrade
from core.identity.bootstrap import bootstrap
from core.idmap.ids import Kind
from core.image.bootstrap import ensure_default_image
from core.network.bootstrap import ensure_default_networks
from core.services import CoreServices, build_core
from core.settings import load_settings
from gateway.ec2.api import Call
from gateway.ec2.handlers.base import Ec2Deps
from gateway.ec2.handlers.instance_actions import InstanceActions

TABLE = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)


class QuietBus:
    """Casts and notifications go nowhere: no conductor builds anything here."""

    def cast(self, *args: Any, **kwargs: Any) -> None:
        pass

    def notify(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass


class Reads:
    """The SELECT statements run on ``db`` in this thread while counting."""

    def __init__(self, db: Database) -> None:
        self.on = threading.local()
        self.statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement: str, *args: Any) -> None:
        if getattr(self.on, "counting", False) and statement.lstrip().upper().startswith(
                "SELECT"):
            self.statements.append(statement)

    def during(self, work: Callable[[], object]) -> list[str]:
        self.statements = []
        self.on.counting = True
        try:
            work()
        finally:
            self.on.counting = False
        return list(self.statements)


@pytest.fixture
def world(tmp_path) -> Iterator[tuple[CoreServices, RequestContext, str]]:
    settings = load_settings({}, data_dir=tmp_path, bcrypt_rounds=4)
    db = Database(settings.effective_database_url)
    upgrade(db)
    core = build_core(settings, db=db, bus=QuietBus())
    ctx = bootstrap(settings, core.identity, SERVED_APIS).admin_context
    image = ensure_default_image(core.images, ctx)
    ensure_default_flavors(db)
    ensure_default_networks(db, settings, "p-admin")
    core.keypairs.create(ctx, "k1")
    yield core, ctx, image.id
    db.dispose()


def tables(statements: list[str]) -> Counter[str]:
    return Counter(TABLE.search(s).group(1) if TABLE.search(s) else s[:40]
                   for s in statements)


def test_run_instances_reads_no_more_than_post_servers(world):
    core, ctx, image_id = world
    reads = Reads(core.db)
    handler = InstanceActions(Ec2Deps.from_core(core, "http://x/ec2/"))
    ami = core.ids.ec2_id_for(Kind.IMAGE, image_id, ctx.project_id or "")

    def nova() -> None:
        core.servers.create(ctx, BootRequest(name="vm", image_ref=image_id, flavor_ref="1",
                                             key_name="k1"))

    def ec2(token: str) -> Callable[[], None]:
        return lambda: handler.run_instances(Call(ctx, "RunInstances", {
            "ImageId": ami, "MinCount": 1, "MaxCount": 1, "InstanceType": "m1.tiny",
            "KeyName": "k1", "ClientToken": token}, "req-1"))

    # Once each first: the project's default security group, the pools and the
    # statement caches are made on first use.
    nova()
    ec2("warm-up")()
    by_nova = reads.during(nova)
    by_ec2 = reads.during(ec2("token-1"))

    id_map = [s for s in by_ec2 if "ec2_ids" in s]
    client_token = [s for s in by_ec2 if "client_token" in s and "ec2_ids" not in s]
    # EC2's answer names each group's VPC: a record Nova has no use for.
    group_vpcs = [s for s in by_ec2 if "ec2_security_group_vpcs" in s]
    assert len(group_vpcs) <= 1, group_vpcs
    rest = [s for s in by_ec2
            if s not in id_map and s not in client_token and s not in group_vpcs]
    assert len(client_token) == 1, client_token
    assert len(rest) <= len([s for s in by_nova if "ec2_ids" not in s]), \
        (tables(rest), tables(by_nova))
    # Table by table, what RunInstances reads besides the ID map and the token
    # is what POST /servers reads.
    assert not tables(rest) - tables(by_nova), (tables(rest), tables(by_nova))
    assert id_map, "RunInstances names the image and its answer by EC2 IDs"
