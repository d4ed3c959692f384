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


def test_a_core_error_no_fault_maps_is_a_logged_500(caplog):
    """A CoreError subclass the fault table does not know is a bug: a 500 that
    says nothing of it to the client, and an ERROR line with its traceback."""

    class Unmapped(errors.CoreError):
        default_message = "internal detail"

    try:
        raise Unmapped()
    except Unmapped as exc:
        with caplog.at_level("ERROR", logger="gateway.openstack.faults"):
            response = FaultRenderer("http://h").core_error(
                request("/compute/v2.1/servers"), exc)
    assert response.status_code == 500
    assert b"internal detail" not in response.body
    [record] = [r for r in caplog.records if r.getMessage() == "unexpected error"]
    assert record.exc_info is not None
