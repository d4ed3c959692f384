"""Setting up users and projects through Identity v3, as tests that need callers
of their own do: a setup request that must succeed, and an admin helper that
makes projects and users and grants them a role."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from keystoneauth1.session import Session

from tests.conftest import unique
from tests.support.server import Server


def setup_call(session: Session, base: str, method: str, path: str, *,
               ok: Collection[int] = (), **kw: Any) -> Any:
    """A setup request (``base`` + ``path``) that must succeed, or answer one of
    ``ok``; its JSON body when it succeeded with one, else None. A failure names
    the request, so a broken setup does not pass for the behaviour under test."""
    r = session.request(f"{base}{path}", method, raise_exc=False, **kw)
    assert r.status_code < 300 or r.status_code in ok, \
        f"setup {method} {path}: {r.status_code} {r.text[:300]}"
    return r.json() if r.content and r.status_code < 300 else None


@dataclass(frozen=True)
class NewUser:
    """A user made for a test, with the password it authenticates with."""

    id: str
    name: str
    password: str


@dataclass
class IdentityAdmin:
    """Identity v3 through an admin's session. Whatever it makes is named
    ``<prefix>-...``, so a module's users and projects are told apart in logs."""

    server: Server
    session: Session
    prefix: str

    @property
    def url(self) -> str:
        return f"{self.server.url}/identity/v3"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """A setup request to Identity v3 that must succeed; its JSON body, if any."""
        return setup_call(self.session, self.url, method, path, json=body)

    @cached_property
    def roles(self) -> dict[str, str]:
        """Role ids by name."""
        return {r["name"]: r["id"] for r in self.call("GET", "/roles")["roles"]}

    def new_project(self) -> dict[str, Any]:
        """A new project in the default domain (its ``id`` and ``name`` among others)."""
        return self.call("POST", "/projects", {"project": {
            "name": unique(self.prefix), "domain_id": "default"}})["project"]

    def new_user(self, label: str, project_id: str, role: str) -> NewUser:
        """A new user named ``<prefix>-<label>-...`` with password ``pw-<label>``,
        holding ``role`` on the project."""
        name, password = unique(f"{self.prefix}-{label}"), f"pw-{label}"
        uid = self.call("POST", "/users", {"user": {
            "name": name, "domain_id": "default", "password": password}})["user"]["id"]
        self.call("PUT", f"/projects/{project_id}/users/{uid}/roles/{self.roles[role]}")
        return NewUser(uid, name, password)
