"""Assertions on Nova's fault bodies, shared by the compute API tests."""

from __future__ import annotations

import requests


def fault(r: requests.Response, status: int, name: str, message: str | None = None) -> str:
    """Assert a Nova fault (``{"<name>": {"code", "message"}}``); its message."""
    assert r.status_code == status, f"{r.status_code} {r.text[:400]}"
    body = r.json()
    assert list(body) == [name], body
    assert body[name]["code"] == status
    if message is not None:
        assert body[name]["message"] == message, body[name]["message"]
    return body[name]["message"]
