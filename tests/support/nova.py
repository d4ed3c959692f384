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


# Nova's fault names by status (nova/api/openstack/wsgi.py Fault)
NAMES = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
         405: "badMethod", 409: "conflictingRequest", 413: "overLimit", 415: "badMediaType",
         429: "overLimit", 501: "notImplemented", 503: "serviceUnavailable"}


def refused(r: requests.Response, status: int, message: str | None = None) -> str:
    """:func:`fault` with the name Nova gives ``status``."""
    return fault(r, status, NAMES[status], message)
