"""The one table mapping errors to OpenStack fault bodies.

Identity answers in Keystone's envelope ``{"error": {"code", "title",
"message"}}``; Image in Glance's ``{"code", "title", "message"}``; Compute (paths
under ``/compute``) in Nova's ``{"<kind>": {"code", "message"}}``; Network
(paths under ``/networking``) in Neutron's ``{"NeutronError": {"type",
"message", "detail"}}`` (gateway/openstack/network/faults.py); Block Storage
(paths under ``/volume``) in Cinder's ``{"<faultName>": {"code", "message"}}``
(gateway/openstack/volume/faults.py).
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from core import errors
from core.image.data import RangeNotSatisfiable
from core.image.stores import ReadOnlyStore, StoreError
from gateway.jsonutil import dumps
from gateway.openstack.allowed_methods import AllowedMethods
from gateway.openstack.network import faults as neutron
from gateway.openstack.volume import faults as cinder

log = logging.getLogger(__name__)

STATUS = [  # most specific first
    (RangeNotSatisfiable, 416),
    (ReadOnlyStore, 410),  # Glance: adding images to a read-only store is "Gone"
    (errors.QuotaExceeded, 403),
    (errors.InvalidInput, 400),
    (errors.Unauthorized, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.PayloadTooLarge, 413),
    (errors.ServiceUnavailable, 503),
    (StoreError, 503),  # a store back end failed (unreachable, refused): retry later
]

TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          405: "Method Not Allowed", 406: "Not Acceptable", 409: "Conflict", 410: "Gone",
          413: "Request Entity Too Large", 415: "Unsupported Media Type",
          416: "Requested Range Not Satisfiable",
          500: "Internal Server Error", 503: "Service Unavailable"}


# Nova's fault names by status (nova/api/openstack/wsgi.py, Fault._fault_names);
# any other status is a "computeFault".
NOVA_FAULT_NAMES = {400: "badRequest", 401: "unauthorized", 403: "forbidden",
                    404: "itemNotFound", 405: "badMethod", 409: "conflictingRequest",
                    413: "overLimit", 415: "badMediaType", 429: "overLimit",
                    501: "notImplemented", 503: "serviceUnavailable"}


def nova_fault_body(status: int, message: str) -> dict:
    """Nova's fault envelope: ``{"itemNotFound": {"code": 404, "message": ...}}``."""
    return {NOVA_FAULT_NAMES.get(status, "computeFault"): {"code": status, "message": message}}


def status_of(exc: errors.CoreError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


class FaultRenderer:
    """Renders any exception as the right dialect's fault for the request path."""

    def __init__(self, public_url: str, allowed: AllowedMethods | None = None) -> None:
        self.public_url = public_url
        self.allowed = allowed or AllowedMethods()

    def response(self, request: ConnexionRequest, status: int, message: str,
                 headers: dict[str, str] | None = None,
                 exc: BaseException | None = None) -> ConnexionResponse:
        """The fault for ``status`` and ``message``; ``exc``, the error answered,
        names Neutron's error ``type``."""
        headers = dict(headers or {})
        title = TITLES.get(status, "Error")
        path = request.url.path
        if neutron.is_network_path(path):
            body: dict = neutron.neutron_fault_body(status, message, exc)
        elif cinder.is_volume_path(path):
            body = cinder.cinder_fault_body(status, message)
        elif path.startswith("/image"):
            # Glance's JSON errors (webob's format)
            body = {"code": f"{status} {title}", "title": title, "message": message}
        elif path == "/compute" or path.startswith("/compute/"):
            body = nova_fault_body(status, message)
        else:
            body = {"error": {"code": status, "title": title, "message": message}}
        if status == 401:
            headers.setdefault("WWW-Authenticate", f'Keystone uri="{self.public_url}/identity"')
        if status == 416:
            headers.setdefault("Content-Range", "bytes */*")
        if status == 503:
            headers.setdefault("Retry-After", "1")
        return ConnexionResponse(status_code=status, mimetype="application/json",
                                 content_type="application/json", body=dumps(body),
                                 headers=headers)

    def core_error(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, errors.CoreError)
        headers = ({"Retry-After": str(exc.retry_after)}
                   if isinstance(exc, errors.ServiceUnavailable) else None)
        if isinstance(exc, errors.DatabaseUnavailable):
            log.warning("database unavailable: %s", exc.__cause__ or exc)
        status, message = status_of(exc), exc.message
        if status == 500:  # a core error no fault maps: a bug, answered and logged as one
            return self.unexpected(request, exc)
        if neutron.is_network_path(request.url.path):
            status, message = neutron.neutron_status(exc, status), neutron.neutron_message(exc)
        elif cinder.is_volume_path(request.url.path):
            status, message = cinder.cinder_status(exc, status), cinder.cinder_message(exc)
        return self.response(request, status, message, headers, exc)

    def problem(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, ProblemException)
        status = exc.status or 400
        message = str(exc.detail or exc.title or TITLES.get(status, "Error"))
        if status == 400:
            message = f"Invalid input: {message}"
        return self.response(request, status, message, dict(exc.headers or {}), exc)

    def http_error(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, HTTPException)
        message = {404: "The resource could not be found.",
                   405: "The method is not allowed for the requested URL."}.get(
            exc.status_code, str(exc.detail))
        if neutron.is_network_path(request.url.path) and exc.detail and \
                exc.detail != HTTPStatus(exc.status_code).phrase:
            message = str(exc.detail)  # a handler's own words (an unknown extension)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            methods = self.allowed.for_path(request.url.path)
            if methods:
                headers["Allow"] = ", ".join(methods)
        return self.response(request, exc.status_code, message, headers, exc)

    def bad_encoding(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        # connexion decodes JSON bodies before validating them.
        return self.response(request, 400, "Invalid input: the request body is not valid "
                                           "UTF-8.", exc=exc)

    def unexpected(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        log.error("unexpected error", exc_info=exc)
        return self.response(request, 500, "An unexpected error prevented the server from "
                                           "fulfilling your request.", exc=exc)
