"""core/compute/server_security_groups.py: a server's groups listed in its
order, a group added to or removed from a server (by name or uuid), and the
errors for groups it is (not) in or that its project lacks."""

from __future__ import annotations

import pytest

from core import errors
from core.compute.server_security_groups import ServerSecurityGroups
from core.network.security_group_types import (
    GroupAlreadyOnServer,
    GroupInUse,
    GroupNotOnServer,
)
from core.services import CoreServices
from tests.support.core_services import ADMIN, MEMBER, OTHER, add_instance


@pytest.fixture
def server_groups(core: CoreServices) -> ServerSecurityGroups:
    core.security_groups.ensure_default("p1")
    return core.server_security_groups


def names(groups) -> list[str]:
    return [g.name for g in groups]


def test_list_in_the_servers_order(core, server_groups):
    core.security_groups.create(MEMBER, "web", "")
    uuid = add_instance(core.db, security_groups=["web", "default"])
    assert names(server_groups.list(MEMBER, uuid)) == ["web", "default"]
    assert names(server_groups.list(ADMIN, uuid)) == ["web", "default"]
    with pytest.raises(errors.NotFound, match=f"^Instance {uuid} could not be found.$"):
        server_groups.list(OTHER, uuid)


def test_add_and_remove(core, server_groups):
    web = core.security_groups.create(MEMBER, "web", "")
    uuid = add_instance(core.db)
    server_groups.add(MEMBER, uuid, web.uuid)
    assert core.instances.get(uuid).security_groups == ["default", "web"]
    with pytest.raises(GroupAlreadyOnServer, match="^Security group web is already associated "
                                                   f"with the instance {uuid}$"):
        server_groups.add(MEMBER, uuid, "web")
    with pytest.raises(GroupInUse):  # held by the server now
        core.security_groups.delete(MEMBER, web.uuid)
    server_groups.remove(MEMBER, uuid, "default")
    assert names(server_groups.list(MEMBER, uuid)) == ["web"]
    with pytest.raises(GroupNotOnServer, match="^Security group default not associated with "
                                               f"the instance {uuid}$"):
        server_groups.remove(MEMBER, uuid, "default")


def test_a_group_the_project_lacks(core, server_groups):
    theirs = core.security_groups.create(OTHER, "theirs", "")
    uuid = add_instance(core.db)
    for ref in ("nope", theirs.uuid):
        with pytest.raises(errors.NotFound, match=f"^Security group {ref} not found for "
                                                  "project p1.$"):
            server_groups.add(MEMBER, uuid, ref)
    assert core.instances.get(uuid).security_groups == ["default"]


def test_another_projects_server(core, server_groups):
    uuid = add_instance(core.db)
    for call in (server_groups.add, server_groups.remove):
        with pytest.raises(errors.NotFound):
            call(OTHER, uuid, "default")
    assert core.instances.get(uuid).security_groups == ["default"]
