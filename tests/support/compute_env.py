"""Where the servers API tests boot servers: the admin's compute API, the
bootstrap image, projects of their own, and the quota race both the SQLite and
the PostgreSQL server must win. Every server booted here is named ``PREFIX-...``,
so a module finds (and deletes) its own servers by name."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.conftest import unique
from tests.support.compute_api import WAIT, Api, Tenant, delete_all, new_tenant, wait_for
from tests.support.nova import fault

PREFIX = unique("api-srv")  # every server booted through Env is named PREFIX-...


@dataclass
class Env:
    """A test server's compute API as its admin, and what tests made there."""

    server: Any
    base: str  # .../compute/v2.1
    admin: Api
    image: str  # the bootstrap image nimbus-tiny
    tenants: list[Tenant] = field(default_factory=list)
    images: list[str] = field(default_factory=list)  # made by tests, deleted at the end
    flavors: list[str] = field(default_factory=list)

    @property
    def image_url(self) -> str:
        return f"{self.server.url}/image/v2/images"

    def tenant(self, quota: dict[str, int] | None = None, reader: bool = False) -> Tenant:
        t = new_tenant(self.server, self.admin, quota, reader)
        self.tenants.append(t)
        return t

    def boot(self, api: Api, name: str, count: int = 1, wait: str | None = "ACTIVE",
             mv: str | None = None, **extra: Any) -> list[str]:
        """Boot ``count`` servers named PREFIX-name[-i] in one request; their ids in
        launch order, ACTIVE unless ``wait`` says otherwise."""
        full = f"{PREFIX}-{name}"
        api.ok("POST", "/servers", {"server": {
            "name": full, "imageRef": self.image, "flavorRef": "1",
            "min_count": count, "max_count": count, **extra}}, mv=mv, status=202)
        names = [full] if count == 1 else [f"{full}-{i}" for i in range(1, count + 1)]
        listed = {s["name"]: s["id"] for s in
                  api.ok("GET", f"/servers?name=^{full}")["servers"]}
        ids = [listed[n] for n in names]
        if wait:
            for sid in ids:
                wait_for(api, sid, wait)
        return ids


def usage(admin: Api, project_id: str) -> dict[str, int]:
    """The instances, cores and RAM the project's quota counts as in use."""
    detail = admin.ok("GET", f"/os-quota-sets/{project_id}/detail")["quota_set"]
    return {k: detail[k]["in_use"] for k in ("instances", "cores", "ram")}


def wait_usage(admin: Api, project_id: str, expected: dict[str, int]) -> None:
    """Wait until the project's usage is ``expected``."""
    deadline = time.monotonic() + WAIT
    while usage(admin, project_id) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert usage(admin, project_id) == expected


def quota_race(env: Env, tenant: Tenant, attempts: int = 50, limit: int = 10) -> list[str]:
    """``attempts`` concurrent creates against an instances quota of ``limit``:
    exactly ``limit`` are accepted, the rest refused with Nova's quota fault.
    Returns the ids of the servers made."""
    token = tenant.member.session.get_token()
    url = f"{env.base}/servers"

    def create(i: int) -> requests.Response:
        return requests.post(url, json={"server": {
            "name": f"{PREFIX}-race-{i}", "imageRef": env.image, "flavorRef": "1"}},
            headers={"X-Auth-Token": token}, timeout=120)

    with ThreadPoolExecutor(attempts) as pool:
        answers = list(pool.map(create, range(attempts)))
    codes = Counter(r.status_code for r in answers)
    assert codes == {202: limit, 403: attempts - limit}, codes
    for r in answers:
        if r.status_code == 403:
            message = fault(r, 403, "forbidden")
            assert message.startswith("Quota exceeded for instances"), message
    listed = tenant.member.ok("GET", "/servers")["servers"]
    assert len(listed) == limit
    assert usage(env.admin, tenant.project_id)["instances"] == limit
    made = sorted(r.json()["server"]["id"] for r in answers if r.status_code == 202)
    assert sorted(s["id"] for s in listed) == made
    return made


def open_env(server: Any, admin_session: Any) -> Env:
    """The compute API of ``server`` as its admin, with the bootstrap image."""
    base = f"{server.url}/compute/v2.1"
    images = admin_session.get(f"{server.url}/image/v2/images?name=nimbus-tiny").json()
    return Env(server=server, base=base, admin=Api(base, admin_session),
               image=images["images"][0]["id"])


def close_env(env: Env, admin_session: Any) -> None:
    """Delete what a module made through ``env``: its servers (named PREFIX-...),
    images and flavors."""
    listed = env.admin.ok("GET", f"/servers?all_tenants=1&name=^{PREFIX}")["servers"]
    delete_all(env.admin, [s["id"] for s in listed])
    for image_id in env.images:
        admin_session.delete(f"{env.image_url}/{image_id}", raise_exc=False)
    for flavor in env.flavors:
        env.admin("DELETE", f"/flavors/{flavor}")


def simulated_hosts(admin: Api) -> list[str]:
    """The compute hosts the server itself simulates that are up and enabled:
    tests register other hosts (``cmp-...``, tests/support/compute_hosts.py) whose
    agents may never answer, so a move must not be sent to one of those."""
    return sorted(v["host"] for v in admin.ok(
        "GET", "/os-services?binary=nova-compute")["services"]
        if not v["host"].startswith("cmp-") and v["state"] == "up"
        and v["status"] == "enabled")
