"""Fixtures for the API tests. For EC2: the endpoint, the demo project and its
bootstrap credential, another project with an EC2 credential of its own, and the
bootstrap image. For compute: ``env``, the compute API as its admin (deleting what
the module made). For all: ``no_server_errors``. Module-scoped, like the projects
and servers the tests make: every module gets clients and projects of its own."""

from __future__ import annotations

import pytest

from tests.conftest import ksa_session, unique
from tests.support.compute_api import Api
from tests.support.compute_env import Env, close_env, open_env
from tests.support.ec2 import Project, bootstrap_keys, client, endpoint_of, new_credential


@pytest.fixture(scope="module")
def endpoint(server) -> str:
    return endpoint_of(server)


@pytest.fixture(scope="module")
def demo_keys(server) -> tuple[str, str]:
    """The demo EC2 credential the bootstrap wrote for the aws CLI."""
    return bootstrap_keys(server, "demo")


@pytest.fixture(scope="module")
def demo(server, endpoint, demo_session, demo_keys) -> Project:
    """The bootstrap's demo project, signing with the bootstrap's credential."""
    return Project(demo_session.get_project_id(),
                   Api(f"{server.url}/compute/v2.1", demo_session),
                   client(endpoint, demo_keys), demo_keys)


def new_project(server, admin_session, identity_url, endpoint, prefix: str = "ec2-other"
                ) -> Project:
    """A new project with a member user and an EC2 credential of its own."""
    def ident(method: str, path: str, body: dict | None = None) -> dict:
        r = admin_session.request(f"{identity_url}{path}", method, json=body)
        return r.json() if r.content else {}

    project = ident("POST", "/projects", {"project": {"name": unique(prefix),
                                                      "domain_id": "default"}})["project"]
    name, password = unique("ec2-user"), "pw-ec2-other"
    user = ident("POST", "/users", {"user": {"name": name, "domain_id": "default",
                                             "password": password}})["user"]
    roles = {r["name"]: r["id"] for r in ident("GET", "/roles")["roles"]}
    ident("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{roles['member']}")
    session = ksa_session(server, name, password, project["name"])
    keys = new_credential(session, identity_url)
    return Project(project["id"], Api(f"{server.url}/compute/v2.1", session),
                   client(endpoint, keys), keys)


@pytest.fixture(scope="module")
def other(server, admin_session, identity_url, endpoint) -> Project:
    """A second project with a member user and an EC2 credential of its own."""
    return new_project(server, admin_session, identity_url, endpoint)


@pytest.fixture(scope="module")
def image(server, demo_session) -> str:
    """The image service's id of the bootstrap image, nimbus-tiny."""
    images = demo_session.get(f"{server.url}/image/v2/images?name=nimbus-tiny").json()
    return images["images"][0]["id"]


@pytest.fixture(scope="module")
def no_server_errors(server):
    """Bad input is a 4xx error, never a 500: the server logs no traceback while the
    module runs. Modules ask for it with ``pytest.mark.usefixtures``."""
    offset = len(server.log_text())
    yield
    assert server.errors_since(offset) == []


@pytest.fixture(scope="module")
def env(server, admin_session) -> Env:
    """The compute API as the admin; the servers, images and flavors the module
    made through it are deleted at its end."""
    e = open_env(server, admin_session)
    yield e
    close_env(e, admin_session)
