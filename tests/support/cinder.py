"""The Block Storage v3 API through a keystoneauth session, as the tests call
it: a microversion per client, plain responses (no raise), and waits for a
volume or snapshot to reach a status."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from keystoneauth1.session import Session


@dataclass
class Cinder:
    session: Session
    base: str  # http://h/volume/v3
    version: str | None = None  # "3.71"; None sends no header (3.0)

    def request(self, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None) -> Any:
        hdrs = dict(headers or {})
        if self.version is not None:
            hdrs.setdefault("OpenStack-API-Version", f"volume {self.version}")
        return self.session.request(f"{self.base}{path}", method, json=body, headers=hdrs,
                                    raise_exc=False)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        """The JSON of a call that must succeed."""
        r = self.request(method, path, body)
        assert r.status_code < 400, f"{method} {path}: {r.status_code} {r.text[:400]}"
        return r.json() if r.content else None

    def at(self, version: str | None) -> Cinder:
        return Cinder(self.session, self.base, version)

    def create_volume(self, size: int = 1, **attrs: Any) -> dict[str, Any]:
        return self.ok("POST", "/volumes", {"volume": {"size": size, **attrs}})["volume"]

    def wait(self, collection: str, ident: str, status: str = "available",
             timeout: float = 30.0) -> dict[str, Any]:
        """The volume or snapshot once it has ``status`` (``deleted``: gone, 404)."""
        member = collection[:-1]
        deadline = time.monotonic() + timeout
        last: Any = None
        pause = 0.02  # most volumes settle within a few bus hops: look again soon, then less often
        while time.monotonic() < deadline:
            r = self.request("GET", f"/{collection}/{ident}")
            if status == "deleted" and r.status_code == 404:
                return {}
            if r.status_code == 200:
                last = r.json()[member]
                if last["status"] == status:
                    return last
                assert not last["status"].startswith("error"), last
            time.sleep(pause)
            pause = min(pause * 2, 0.2)
        raise AssertionError(f"{member} {ident} is not {status}: {last}")
