"""Neutron's error envelope, for every error answered under ``/networking``:
``{"NeutronError": {"type": "NetworkNotFound", "message": "...", "detail": ""}}``.

:class:`gateway.openstack.faults.FaultRenderer` renders every dialect; this
module says what differs under ``/networking``: the ``type`` named after the
error (Neutron's exception class names), and a quota exceeded is 409
``OverQuota`` (Nova and Glance answer 403).
"""

from __future__ import annotations

from connexion.exceptions import ProblemException
from starlette.exceptions import HTTPException

from core import errors

PREFIX = "/networking"
# core.network.errors names its classes exactly as Neutron's exceptions.
NEUTRON_ERRORS_MODULE = "core.network.errors"

# A NotFound's kind -> Neutron's exception name (neutron_lib.exceptions).
NOT_FOUND_TYPES = {
    "network": "NetworkNotFound", "subnet": "SubnetNotFound", "port": "PortNotFound",
    "router": "RouterNotFound", "floating_ip": "FloatingIPNotFound",
    "security_group": "SecurityGroupNotFound",
    "security_group_rule": "SecurityGroupRuleNotFound", "project": "ProjectNotFound",
    "tag": "TagNotFound",
}

# The domain errors by class, most specific first.
CORE_TYPES: list[tuple[type[Exception], str]] = [
    (errors.QuotaExceeded, "OverQuota"),
    (errors.InvalidInput, "BadRequest"),
    (errors.Unauthorized, "HTTPUnauthorized"),
    (errors.Forbidden, "PolicyNotAuthorized"),
    (errors.NotFound, "NotFound"),
    (errors.Conflict, "Conflict"),
    (errors.ServiceUnavailable, "ServiceUnavailable"),
]

# Errors raised by the HTTP machinery (routing, validation): webob's names,
# as Neutron's fault wrapper reports them.
HTTP_TYPES = {400: "HTTPBadRequest", 401: "HTTPUnauthorized", 403: "HTTPForbidden",
              404: "HTTPNotFound", 405: "HTTPMethodNotAllowed", 406: "HTTPNotAcceptable",
              409: "HTTPConflict", 412: "RevisionNumberConstraintFailed",
              413: "HTTPRequestEntityTooLarge", 415: "HTTPUnsupportedMediaType",
              500: "HTTPInternalServerError", 503: "HTTPServiceUnavailable"}


def is_network_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def neutron_status(exc: errors.CoreError, status: int) -> int:
    """Neutron's status for a domain error the other APIs answer with ``status``."""
    return 409 if isinstance(exc, errors.QuotaExceeded) else status


def neutron_message(exc: errors.CoreError) -> str:
    if isinstance(exc, errors.QuotaExceeded) and exc.resources:
        return f"Quota exceeded for resources: {sorted(exc.resources)!r}."
    return exc.message


def neutron_type(status: int, exc: BaseException | None) -> str:
    """The ``type`` of Neutron's envelope for ``exc`` answered with ``status``."""
    if isinstance(exc, errors.CoreError):
        if type(exc).__module__ == NEUTRON_ERRORS_MODULE:
            return type(exc).__name__
        if isinstance(exc, errors.NotFound) and exc.kind in NOT_FOUND_TYPES:
            return NOT_FOUND_TYPES[exc.kind]
        for cls, name in CORE_TYPES:
            if isinstance(exc, cls):
                return name
    if isinstance(exc, (HTTPException, ProblemException)) or exc is None:
        return HTTP_TYPES.get(status, "HTTPError")
    return HTTP_TYPES.get(status, "HTTPInternalServerError")


def neutron_fault_body(status: int, message: str, exc: BaseException | None) -> dict:
    return {"NeutronError": {"type": neutron_type(status, exc), "message": message,
                             "detail": ""}}
