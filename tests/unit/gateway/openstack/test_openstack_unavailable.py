"""gateway/openstack/faults.py when the database is down: each API's own 503
body (Keystone's, Nova's, Glance's) with the error's Retry-After."""

from __future__ import annotations

import json

import pytest
from connexion.lifecycle import ConnexionRequest

from core import errors
from gateway.openstack.faults import FaultRenderer


def request(path: str) -> ConnexionRequest:
    return ConnexionRequest({"type": "http", "method": "GET", "path": path, "headers": [],
                             "query_string": b"", "server": ("h", 80), "scheme": "http"})


@pytest.mark.parametrize(("path", "expected"), [
    ("/identity/v3/auth/tokens", {"error": {"code": 503, "title": "Service Unavailable",
                                            "message": "The database is temporarily "
                                                       "unavailable; retry later."}}),
    ("/compute/v2.1/servers", {"serviceUnavailable": {
        "code": 503, "message": "The database is temporarily unavailable; retry later."}}),
    ("/image/v2/images", {"code": "503 Service Unavailable", "title": "Service Unavailable",
                          "message": "The database is temporarily unavailable; retry later."}),
])
def test_database_unavailable_in_each_dialect(path, expected):
    response = FaultRenderer("http://h").core_error(request(path), errors.DatabaseUnavailable())
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert json.loads(response.body) == expected


def test_other_503s_say_their_own_retry_after():
    renderer = FaultRenderer("http://h")
    response = renderer.core_error(request("/compute/v2.1/servers"),
                                   errors.ServiceUnavailable(retry_after=2))
    assert (response.status_code, response.headers["Retry-After"]) == (503, "2")
    assert "Retry-After" not in (renderer.core_error(request("/compute/v2.1/servers"),
                                                     errors.NotFound()).headers or {})
