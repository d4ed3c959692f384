"""The compute API as the server and EC2 tests drive it: a keystoneauth session
bound to ``.../compute/v2.1``, projects of a test's own, and waiting for a
server to reach a status or to be gone."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests
from keystoneauth1 import session as ksa_session_mod

from tests.conftest import ksa_session
from tests.support.identity import IdentityAdmin
from tests.support.server import Server

MV = "OpenStack-API-Version"
WAIT = 60.0  # seconds a server may take to reach a status, or to go


class Api:
    """A keystoneauth session bound to the compute endpoint."""

    def __init__(self, base: str, session: ksa_session_mod.Session) -> None:
        self.base = base  # .../compute/v2.1
        self.session = session

    def __call__(self, method: str, path: str, body: Any = None, mv: str | None = None,
                 **kw: Any) -> requests.Response:
        headers = dict(kw.pop("headers", None) or {})
        if mv:
            headers[MV] = f"compute {mv}"
        url = path if path.startswith("http") else f"{self.base}{path}"
        return self.session.request(url, method, json=body, headers=headers,
                                    raise_exc=False, **kw)

    def ok(self, method: str, path: str, body: Any = None, mv: str | None = None,
           status: int | tuple[int, ...] = (200, 201, 202, 204)) -> Any:
        """A request that must succeed; its JSON body, if any."""
        r = self(method, path, body, mv=mv)
        wanted = (status,) if isinstance(status, int) else status
        assert r.status_code in wanted, f"{method} {path}: {r.status_code} {r.text[:400]}"
        return r.json() if r.content else None


# ---------------------------------------------------------------- projects of their own

@dataclass
class Tenant:
    """A project of its own with a member (and maybe a reader) user."""

    project_id: str
    name: str
    member: Api
    user_id: str
    password: str
    reader: Api | None = None


def new_tenant(server: Server, admin: Api, quota: dict[str, int] | None = None,
               reader: bool = False) -> Tenant:
    """A new project (its quota set to ``quota`` if given) with a member user and,
    if asked, a reader; their compute APIs."""
    identity = IdentityAdmin(server, admin.session, prefix="srv-api")
    project = identity.new_project()

    def user(role: str) -> tuple[Api, str, str]:
        made = identity.new_user(role, project["id"], role)
        session = ksa_session(server, made.name, made.password, project["name"])
        return Api(admin.base, session), made.id, made.password

    member, uid, password = user("member")
    if quota:
        admin.ok("PUT", f"/os-quota-sets/{project['id']}", {"quota_set": quota})
    return Tenant(project["id"], project["name"], member, uid, password,
                  user("reader")[0] if reader else None)


# ---------------------------------------------------------------- waiting for servers

def show(api: Api, sid: str, mv: str | None = None) -> dict | None:
    """The server as ``api`` sees it; None once it is gone (404)."""
    r = api("GET", f"/servers/{sid}", mv=mv)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return r.json()["server"]


def wait_for(api: Api, sid: str, status: str, timeout: float = WAIT) -> dict:
    """The server once it shows ``status`` with no task in progress."""
    deadline = time.monotonic() + timeout
    shown = None
    while time.monotonic() < deadline:
        shown = show(api, sid)
        assert shown is not None, f"{sid} vanished while waiting for {status}"
        if shown["status"] == status and shown["OS-EXT-STS:task_state"] is None:
            return shown
        if shown["status"] == "ERROR" and status != "ERROR":
            raise AssertionError(f"{sid} went to ERROR: {shown.get('fault')}")
        time.sleep(0.1)
    raise AssertionError(f"{sid} did not reach {status}: {shown}")


def wait_gone(api: Api, ids: list[str], timeout: float = WAIT) -> None:
    """Wait until none of the servers ``ids`` is shown any more."""
    deadline = time.monotonic() + timeout
    left = list(ids)
    while left and time.monotonic() < deadline:
        left = [sid for sid in left if show(api, sid) is not None]
        if left:
            time.sleep(0.1)
    assert not left, f"not deleted: {left}"


def delete_all(api: Api, ids: list[str]) -> None:
    """Delete the servers (one already gone is fine) and wait until they are."""
    for sid in ids:
        r = api("DELETE", f"/servers/{sid}")
        assert r.status_code in (204, 404), r.text
    wait_gone(api, ids)
