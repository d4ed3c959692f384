"""gateway/openstack/network/faults.py through FaultRenderer: every error under
/networking is Neutron's envelope, typed after the error."""

from __future__ import annotations

import json

import pytest
from connexion.exceptions import BadRequestProblem
from connexion.lifecycle import ConnexionRequest
from starlette.exceptions import HTTPException

from core import errors
from gateway.openstack.faults import FaultRenderer


def request(path: str) -> ConnexionRequest:
    return ConnexionRequest({"type": "http", "method": "GET", "path": path, "headers": [],
                             "query_string": b"", "server": ("h", 80), "scheme": "http"})


def answer(response) -> tuple[int, dict]:
    return response.status_code, json.loads(response.body)


NET = "/networking/v2.0/networks"


@pytest.mark.parametrize(("exc", "status", "type_"), [
    (errors.NotFound("Network x could not be found.", kind="network", id="x"), 404,
     "NetworkNotFound"),
    (errors.NotFound(kind="floating_ip", id="x"), 404, "FloatingIPNotFound"),
    (errors.NotFound(kind="security_group_rule", id="x"), 404, "SecurityGroupRuleNotFound"),
    (errors.NotFound(), 404, "NotFound"),
    (errors.InvalidInput("bad"), 400, "BadRequest"),
    (errors.Conflict("busy"), 409, "Conflict"),
    (errors.Forbidden(), 403, "PolicyNotAuthorized"),
    (errors.Unauthorized(), 401, "HTTPUnauthorized"),
    (errors.QuotaExceeded("over", resources=["network"]), 409, "OverQuota"),
    (errors.ServiceUnavailable(), 503, "ServiceUnavailable"),
])
def test_core_errors_in_neutrons_envelope(exc, status, type_):
    code, body = answer(FaultRenderer("http://h").core_error(request(NET), exc))
    assert code == status
    assert set(body) == {"NeutronError"}
    assert body["NeutronError"]["type"] == type_
    assert body["NeutronError"]["detail"] == ""
    assert body["NeutronError"]["message"]


def test_over_quota_says_which_resources():
    exc = errors.QuotaExceeded("Quota exceeded for networks.", resources=["network"])
    _, body = answer(FaultRenderer("http://h").core_error(request(NET), exc))
    assert body["NeutronError"]["message"] == "Quota exceeded for resources: ['network']."


def test_quota_exceeded_stays_403_for_compute():
    exc = errors.QuotaExceeded("over", resources=["instances"])
    code, body = answer(FaultRenderer("http://h").core_error(
        request("/compute/v2.1/servers"), exc))
    assert code == 403 and "forbidden" in body


def test_a_class_of_core_network_errors_names_the_type():
    named = type("IpAddressInUse", (errors.Conflict,), {"__module__": "core.network.errors"})
    code, body = answer(FaultRenderer("http://h").core_error(request(NET), named("in use")))
    assert (code, body["NeutronError"]["type"]) == (409, "IpAddressInUse")
    assert body["NeutronError"]["message"] == "in use"


@pytest.mark.parametrize(("status", "type_", "message"), [
    (404, "HTTPNotFound", "The resource could not be found."),
    (405, "HTTPMethodNotAllowed", "The method is not allowed for the requested URL."),
])
def test_routing_errors(status, type_, message):
    code, body = answer(FaultRenderer("http://h").http_error(request(NET),
                                                             HTTPException(status)))
    assert code == status
    assert body == {"NeutronError": {"type": type_, "message": message, "detail": ""}}


def test_a_handlers_own_404_keeps_its_words():
    exc = HTTPException(404, detail="Extension with alias nope does not exist")
    _, body = answer(FaultRenderer("http://h").http_error(
        request("/networking/v2.0/extensions/nope"), exc))
    assert body["NeutronError"]["message"] == "Extension with alias nope does not exist"


def test_validation_errors_are_bad_requests():
    code, body = answer(FaultRenderer("http://h").problem(
        request(NET), BadRequestProblem(detail="'x' is not of type 'boolean'")))
    assert code == 400
    assert body["NeutronError"]["type"] == "HTTPBadRequest"
    assert "'x' is not of type 'boolean'" in body["NeutronError"]["message"]


def test_unexpected_errors_are_500s_in_the_envelope():
    code, body = answer(FaultRenderer("http://h").unexpected(request(NET), RuntimeError("secret-detail")))
    assert code == 500
    assert body["NeutronError"]["type"] == "HTTPInternalServerError"
    assert "secret-detail" not in body["NeutronError"]["message"]


def test_other_paths_keep_their_dialects():
    _, body = answer(FaultRenderer("http://h").core_error(request("/networkingx/v2.0"),
                                                          errors.NotFound()))
    assert "NeutronError" not in body
