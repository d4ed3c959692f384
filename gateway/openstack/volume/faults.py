"""Cinder's fault envelope, for every error answered under ``/volume``:
``{"itemNotFound": {"code": 404, "message": "..."}}``.

:class:`gateway.openstack.faults.FaultRenderer` renders every dialect; this
module says what differs under ``/volume``: Cinder's fault names
(``cinder/api/openstack/wsgi.py`` ``Fault._fault_names``), and a quota exceeded
is 413 ``overLimit`` (Cinder's ``QuotaError``s: VolumeLimitExceeded,
VolumeSizeExceedsAvailableQuota, SnapshotLimitExceeded), not Nova's 403.
"""

from __future__ import annotations

from core import errors

PREFIX = "/volume"

FAULT_NAMES = {400: "badRequest", 401: "unauthorized", 403: "forbidden",
               404: "itemNotFound", 405: "badMethod", 406: "notAcceptable",
               409: "conflictingRequest", 413: "overLimit", 415: "badMediaType",
               501: "notImplemented", 503: "serviceUnavailable"}

def is_volume_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def cinder_status(exc: errors.CoreError, status: int) -> int:
    """Cinder's status for a domain error the other APIs answer with ``status``."""
    return 413 if isinstance(exc, errors.QuotaExceeded) else status


def cinder_message(exc: errors.CoreError) -> str:
    """Cinder's words for a quota exceeded (``cinder/exception.py``)."""
    if not isinstance(exc, errors.QuotaExceeded) or not exc.resources:
        return exc.message
    name = exc.resources[0]
    allowed, used = exc.allowed.get(name), exc.used.get(name)
    if name.startswith("gigabytes"):
        return (f"Requested volume or snapshot exceeds allowed {name} quota. Requested "
                f"{exc.requested.get(name)}G, quota is {allowed}G and {used}G has been "
                "consumed.")
    if name.startswith("snapshots"):
        return f"Maximum number of snapshots allowed ({allowed}) exceeded"
    return f"Maximum number of volumes allowed ({allowed}) exceeded for quota '{name}'."


def cinder_fault_body(status: int, message: str) -> dict:
    """``{"<faultName>": {"code": status, "message": message}}``; statuses
    Cinder names nothing for are ``computeFault``."""
    return {FAULT_NAMES.get(status, "computeFault"): {"code": status, "message": message}}
