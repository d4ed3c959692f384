"""EC2 errors: the one table from domain errors to EC2 codes, their HTTP status
and the error body.

Core errors carry their structure (``core.errors``): the kind of resource and
its id, which key named it (``by``), the state in the way, the quota passed.
:func:`from_core` turns that into EC2's code and words, naming objects by their
EC2 IDs (``naming`` looks them up in the ID map). Handlers raise
:class:`Ec2Error` only for what is EC2's own (a parameter EC2 has and
OpenStack does not); a missing object is a domain ``NotFound`` whatever finds
it missing, so every ``.NotFound`` code of the API is written here once.
The status always comes from :data:`STATUS`; an error is never sent with
200, which boto3 would read as an empty success.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core import errors
from core.compute.server_actions import ResizeFailed
from core.compute.servers import IdempotentMismatch, IdempotentTerminated
from core.identity.ec2_signature import (
    MalformedSignature,
    SignatureMismatch,
    StaleRequest,
    WrongRegion,
)
from core.idmap.ids import RESOURCES, Ec2Ids, Kind, MalformedId
from core.network import attachments, floating, instance_ports
from core.network import errors as net_errors
from core.network import security_group_types as sg
from core.tagging.rules import UnknownResourceId
from core.volume import errors as vol_errors
from core.vpc import errors as vpc_errors
from gateway.ec2.xml import XML_DECLARATION, escape

DEFAULT_STATUS = 400  # every client error not listed below
STATUS: Mapping[str, int] = {
    "AuthFailure": 401,
    "MissingAuthenticationToken": 401,
    "SignatureDoesNotMatch": 403,
    "UnauthorizedOperation": 403,
    "DryRunOperation": 412,
    "InvalidURI": 404,  # a path under /ec2 other than the endpoint (S3's code)
    "MethodNotAllowed": 405,  # neither GET nor POST (S3's code)
    "RequestEntityTooLarge": 413,
    "InternalError": 500,
    "Unavailable": 503,  # botocore retries 503s, ClientToken and all
    "ServiceUnavailable": 503,
}

# Fixed wording where AWS's own is what clients and people search for.
MESSAGES: Mapping[str, str] = {
    "AuthFailure": "AWS was not able to validate the provided access credentials",
    "SignatureDoesNotMatch": "The request signature we calculated does not match the signature "
                             "you provided. Check your AWS Secret Access Key and signing "
                             "method. Consult the service documentation for details.",
    "MissingAuthenticationToken": "The request must contain either a valid (registered) AWS "
                                  "access key ID or X.509 certificate.",
    "DryRunOperation": "Request would have succeeded, but DryRun flag is set.",
    "InternalError": "An internal error has occurred",
    "ServiceUnavailable": "The request has failed due to a temporary failure of the server.",
}


@dataclass(frozen=True)
class Code:
    """An EC2 code and its message: a template over the error's fields (``{id}``,
    ``{ids}``, ``{vpc}``, ``{state}`` and its details), or the core error's own
    message when there is none; ``many``: the wording for several ids."""

    code: str
    message: str | None = None
    many: str | None = None


# A resource that is not there (NotFound), or that a request names and that is
# not there (InvalidReference), by kind, or by kind and the key that named it.
NOT_FOUND: Mapping[str, Code] = {
    "instance": Code("InvalidInstanceID.NotFound", "The instance ID '{id}' does not exist",
                     "The instance IDs '{ids}' do not exist"),
    "image": Code("InvalidAMIID.NotFound", "The image id '[{id}]' does not exist",
                  "The image ids '[{ids}]' do not exist"),
    "key_pair": Code("InvalidKeyPair.NotFound", "The key pair '{id}' does not exist"),
    "key_pair/id": Code("InvalidKeyPair.NotFound", "The key pair ID '{id}' does not exist"),
    "security_group": Code("InvalidGroup.NotFound", "The security group '{id}' does not exist"),
    "security_group/name": Code("InvalidGroup.NotFound", "The security group '{id}' does not "
                                "exist in default VPC '{vpc}'"),
    "security_group_rule": Code("InvalidSecurityGroupRuleId.NotFound",
                                "The security group rule ID '{id}' does not exist"),
    "floating_ip": Code("InvalidAllocationID.NotFound",
                        "The allocation ID '{id}' does not exist"),
    "floating_ip/address": Code("InvalidAddress.NotFound", "Address '{id}' not found."),
    "floating_ip_association": Code("InvalidAssociationID.NotFound",
                                    "The association ID '{id}' does not exist"),
    "floating_ip_association/address": Code("InvalidAssociationID.NotFound",
                                            "The address '{id}' is not associated"),
    "volume": Code("InvalidVolume.NotFound", "The volume '{id}' does not exist."),
    "volume/device": Code("InvalidAttachment.NotFound", "The volume '{id}' is not attached "
                          "at device '{device}'."),
    "snapshot": Code("InvalidSnapshot.NotFound", "The snapshot '{id}' does not exist."),
    "vpc": Code("InvalidVpcID.NotFound", "The vpc ID '{id}' does not exist"),
    "subnet": Code("InvalidSubnetID.NotFound", "The subnet ID '{id}' does not exist"),
    "port": Code("InvalidNetworkInterfaceID.NotFound",
                 "The networkInterface ID '{id}' does not exist"),
    "route_table": Code("InvalidRouteTableID.NotFound",
                        "The routeTable ID '{id}' does not exist"),
    "route_table/association": Code("InvalidAssociationID.NotFound",
                                    "The association ID '{id}' does not exist"),
    "route_table/route": Code("InvalidRoute.NotFound", "no route with destination-cidr-block "
                              "{destination} in route table {id}"),
    "internet_gateway": Code("InvalidInternetGatewayID.NotFound",
                             "The internetGateway ID '{id}' does not exist"),
    "dhcp_options": Code("InvalidDhcpOptionID.NotFound",
                         "The dhcpOption ID '{id}' does not exist"),
    "network_interface_attachment": Code("InvalidAttachmentID.NotFound",
                                         "The attachment ID '{id}' does not exist"),
    # a network named in EC2 is a subnet
    "network": Code("InvalidSubnetID.NotFound", "The subnet ID '{id}' does not exist"),
    # EC2 names instance types and zones by value, not as objects of their own.
    "flavor": Code("InvalidParameterValue", "Invalid value '{id}' for InstanceType."),
    "availability_zone": Code("InvalidParameterValue", "Invalid availability zone: [{id}]"),
}
# A resource a request names, in a state it cannot be used in.
UNAVAILABLE: Mapping[str, Code] = {
    "image": Code("InvalidAMIID.Unavailable", "Image {id} is not available (it is {state})."),
    "volume": Code("IncorrectState", "The volume '{id}' is in the '{state}' state."),
    "snapshot": Code("IncorrectState", "The snapshot '{id}' is in the '{state}' state."),
}
# A resource whose state (or a clash) stands in the way.
CONFLICT: Mapping[str, Code] = {
    "instance": Code("IncorrectInstanceState"),
    "key_pair": Code("InvalidKeyPair.Duplicate"),
    "port": Code("InvalidNetworkInterface.InUse", "Interface: [{id}] in use."),
    "volume": Code("IncorrectState", "The volume '{id}' is in the '{state}' state."),
    "snapshot": Code("IncorrectState", "The snapshot '{id}' is in the '{state}' state."),
}
# A project's quota, by the first resource passed.
QUOTA: Mapping[str, Code] = {
    "instances": Code("InstanceLimitExceeded", "Your quota allows for {room} more running "
                      "instance(s). You requested at least {requested}"),
    "cores": Code("VcpuLimitExceeded", "You have requested more vCPU capacity than your "
                  "current vCPU limit of {allowed} allows."),
    "ram": Code("InstanceLimitExceeded"),
    "floating_ips": Code("AddressLimitExceeded",
                         "The maximum number of addresses has been reached."),
    # An instance's tags other than Name are its metadata items.
    "metadata_items": Code("TagLimitExceeded"),
    "volumes": Code("VolumeLimitExceeded", "You have exceeded your maximum volume count "
                    "({allowed})."),
    "gigabytes": Code("VolumeLimitExceeded", "You have exceeded your maximum gigabyte "
                      "limit ({allowed} GiB): {requested} GiB requested."),
    "snapshots": Code("SnapshotLimitExceeded", "You have exceeded your maximum snapshot "
                      "count ({allowed})."),
    "per_volume_gigabytes": Code("VolumeLimitExceeded", "The volume size {requested} GiB "
                                 "is larger than the largest allowed, {allowed} GiB."),
}
# A limit of one object.
LIMITS: Mapping[str, Code] = {"tags": Code("TagLimitExceeded")}
MALFORMED_ID_CODES: Mapping[str, str] = {
    "instance": "InvalidInstanceID.Malformed",
    "image": "InvalidAMIID.Malformed",
    "reservation": "InvalidReservationID.Malformed",
    "security_group": "InvalidGroupId.Malformed",
    "volume": "InvalidVolumeID.Malformed",
    "snapshot": "InvalidSnapshotID.Malformed",
    "floating_ip": "InvalidAllocationID.Malformed",
    "floating_ip_association": "InvalidAssociationID.Malformed",
    "key_pair": "InvalidParameterValue",  # EC2 has no InvalidKeyPair.Malformed
    "port": "InvalidNetworkInterfaceID.Malformed",
    "security_group_rule": "InvalidSecurityGroupRuleId.Malformed",
    "vpc": "InvalidVpcID.Malformed",
    "subnet": "InvalidSubnetID.Malformed",
    "route_table": "InvalidRouteTableID.Malformed",
    "internet_gateway": "InvalidInternetGatewayID.Malformed",
    "dhcp_options": "InvalidDhcpOptionsId.Malformed",
    "network_interface_attachment": "InvalidAttachmentID.Malformed",
}

# Domain errors with an EC2 code of their own, most specific first (signature
# errors subclass Unauthorized and InvalidInput).
OWN_CODES: tuple[tuple[type[errors.CoreError], Code], ...] = (
    (SignatureMismatch, Code("SignatureDoesNotMatch", MESSAGES["SignatureDoesNotMatch"])),
    (StaleRequest, Code("RequestExpired")),
    # EC2 answers a scope naming another region with AuthFailure (401), not the
    # SignatureDoesNotMatch of the query services (STS, SES, SQS); the words say why.
    (WrongRegion, Code("AuthFailure", "Credential should be scoped to a valid region, not "
                                      "'{region}': this cloud's region is '{expected}'.")),
    (MalformedSignature, Code("IncompleteSignature")),
    (IdempotentMismatch, Code("IdempotentParameterMismatch")),
    (IdempotentTerminated, Code("IdempotentInstanceTerminated")),
    (ResizeFailed, Code("InsufficientInstanceCapacity")),
    (floating.NoAddressesLeft, Code("InsufficientAddressCapacity")),
    (floating.AlreadyAssociated, Code("Resource.AlreadyAssociated",
                                      "resource {id} is already associated with "
                                      "associate-id {association_id}")),
    (floating.AddressInUse, Code("InvalidIPAddress.InUse")),
    (floating.InstanceNotReady, Code("IncorrectInstanceState", "The instance '{id}' is not "
                                     "in a valid state for this operation.")),
    (sg.DuplicateGroup, Code("InvalidGroup.Duplicate", "The security group '{name}' already "
                             "exists for VPC '{vpc}'")),
    (sg.DefaultGroupProtected, Code("CannotDelete", 'the specified group: "{id}" name: '
                                    '"{name}" cannot be deleted by a user')),
    (sg.GroupInUse, Code("DependencyViolation", "resource {id} has a dependent object")),
    (sg.RuleNotFound, Code("InvalidPermission.NotFound",
                           "The specified rule does not exist in this security group.")),
    (UnknownResourceId, Code("InvalidID")),
    # network interfaces and their addresses
    (attachments.PrimaryInterface, Code("OperationNotPermitted", "The network interface at "
                                        "device index 0 cannot be detached.")),
    (attachments.DeviceIndexInUse, Code("InvalidParameterValue", "Instance already has an "
                                        "interface attached at device index "
                                        "{device_index}.")),
    (net_errors.IpAddressInUse, Code("InvalidIPAddress.InUse", "The address is in use.")),
    (instance_ports.FixedIpInUse, Code("InvalidIPAddress.InUse",
                                       "Address {id} is in use.")),
    (net_errors.IpAddressGenerationFailure, Code("InsufficientFreeAddressesInSubnet",
                                                 "The subnet has no free addresses left.")),
    (net_errors.ExternalGatewayForFloatingIPNotFound,
     Code("Gateway.NotAttached", "The network of the interface has no route to an internet "
                                 "gateway.")),
    (vpc_errors.DependencyViolation, Code("DependencyViolation", "The {kind_words} '{id}' has "
                                          "dependencies and cannot be deleted: {reason}.")),
    (vpc_errors.VpcRangeInvalid, Code("InvalidVpc.Range", "The CIDR '{cidr}' is invalid.")),
    (vpc_errors.SubnetRangeInvalid, Code("InvalidSubnet.Range",
                                         "The CIDR '{cidr}' is invalid.")),
    (vpc_errors.SubnetConflict, Code("InvalidSubnet.Conflict",
                                     "The CIDR '{cidr}' conflicts with another subnet")),
    (vpc_errors.GatewayNotAttached, Code("Gateway.NotAttached", "resource {id} is not "
                                         "attached to network {vpc_id}")),
    (vpc_errors.AlreadyAssociated, Code("Resource.AlreadyAssociated",
                                        "resource {id} is already associated with {other}")),
    (vpc_errors.RouteExists, Code("RouteAlreadyExists", "The route identified by "
                                  "{destination} already exists.")),
    # volumes and snapshots (their NotFound and Conflict codes are by kind, above)
    (vol_errors.VolumeInUse, Code("VolumeInUse", "Volume '{id}' is in use ({state}).")),
    (vol_errors.InvalidVolume, Code("IncorrectState", "The volume '{id}' cannot be used "
                                    "that way now ({state}): {reason}.")),
    (vol_errors.InvalidAttachment, Code("IncorrectState", "The volume '{id}' cannot be "
                                        "attached or detached that way: {reason}.")),
    (vol_errors.InvalidSnapshot, Code("IncorrectState", "The snapshot '{id}' cannot be used "
                                      "that way now ({state}): {reason}.")),
    (vol_errors.VolumeTypeNotFound, Code("InvalidParameterValue",
                                         "Invalid value '{id}' for volumeType.")),
    (vol_errors.InvalidAvailabilityZone, Code("InvalidParameterValue",
                                              "Invalid availability zone: [{id}]")),
    # AWS's common error for "a temporary failure of the server" ("Unavailable"
    # is its word for an overloaded one, kept for the other ServiceUnavailable).
    (errors.DatabaseUnavailable, Code("ServiceUnavailable", MESSAGES["ServiceUnavailable"])),
)
# The base classes, for what the structured tables above do not answer.
BASE_CODES: tuple[tuple[type[errors.CoreError], Code], ...] = (
    (errors.Unauthorized, Code("AuthFailure", MESSAGES["AuthFailure"])),
    (errors.Forbidden, Code("UnauthorizedOperation")),
    (errors.InvalidInput, Code("InvalidParameterValue")),
    (errors.NotFound, Code("InvalidParameterValue")),  # a kind EC2 has no object for
    (errors.Conflict, Code("IncorrectState")),
    (errors.PayloadTooLarge, Code("InvalidParameterValue")),
    (errors.ServiceUnavailable, Code("Unavailable")),
)

Naming = Callable[[str, str], str]  # (kind, OpenStack id) -> its EC2 ID, or the id


class Ec2Error(Exception):
    """An error the edge raises with its EC2 code."""

    def __init__(self, code: str, message: str | None = None,
                 retry_after: int | None = None) -> None:
        self.code = code
        self.message = message or MESSAGES.get(code, code)
        # Seconds for a Retry-After header: sent with every 503.
        self.retry_after = retry_after if retry_after is not None else (
            1 if self.status == 503 else None)
        super().__init__(f"{code}: {self.message}")

    @property
    def status(self) -> int:
        return status_of(self.code)


def status_of(code: str) -> int:
    return STATUS.get(code, DEFAULT_STATUS)


def _code(exc: errors.CoreError) -> Code | None:
    """The entry of the one table that answers ``exc``."""
    for cls, code in OWN_CODES:
        if isinstance(exc, cls):
            return code
    kind = exc.kind or ""
    if isinstance(exc, errors.NotFound | errors.InvalidReference):
        by = getattr(exc, "by", None)
        return NOT_FOUND.get(f"{kind}/{by}") or NOT_FOUND.get(kind)
    if isinstance(exc, errors.ReferenceUnavailable):
        return UNAVAILABLE.get(kind)
    if isinstance(exc, errors.LimitExceeded):
        return LIMITS.get(exc.limit)
    if isinstance(exc, errors.QuotaExceeded):
        first = next((r for r in exc.resources if r in QUOTA), None)
        return QUOTA[first] if first else Code("ResourceLimitExceeded")
    if isinstance(exc, errors.Conflict):
        return CONFLICT.get(kind)
    return None


def _fields(exc: errors.CoreError, naming: Naming, vpc: str) -> dict[str, Any]:
    kind = exc.kind or ""
    fields: dict[str, Any] = dict(exc.details)
    ids = getattr(exc, "ids", None) or ([exc.id] if exc.id is not None else [])
    named = [naming(kind, i) for i in ids]
    fields.update(id=named[0] if named else "", ids=", ".join(named), vpc=vpc,
                  state=getattr(exc, "state", None) or "",
                  reason=getattr(exc, "reason", None) or exc.message)
    if isinstance(exc, vpc_errors.DependencyViolation | vpc_errors.AlreadyAssociated):
        fields["kind_words"] = kind.replace("_", " ")
        for key in ("other", "vpc_id"):
            if key in fields and isinstance(fields[key], str):
                fields[key] = _name_any(naming, fields[key])
    if isinstance(exc, vpc_errors.GatewayNotAttached):
        fields["vpc_id"] = naming("vpc", str(fields.get("vpc_id", "")))
    if isinstance(exc, floating.AlreadyAssociated):
        fields["association_id"] = naming("floating_ip_association", exc.association_id)
    if isinstance(exc, errors.QuotaExceeded) and exc.resources:
        first = next((r for r in exc.resources if r in QUOTA), exc.resources[0])
        allowed, used = exc.allowed.get(first, 0), exc.used.get(first, 0)
        fields.update(allowed=allowed, requested=exc.requested.get(first, 0),
                      room=max(0, int(allowed) - int(used)))
    return fields


def _name_any(naming: Naming, ident: str) -> str:
    """An object of the VPC family named by whichever kind has it."""
    for kind in ("vpc", "internet_gateway", "route_table", "subnet"):
        named = naming(kind, ident)
        if named != ident:
            return named
    return ident


def from_core(exc: errors.CoreError, naming: Naming | None = None, vpc: str = "") -> Ec2Error:
    """The EC2 error for a domain error; ``naming`` gives objects' EC2 IDs,
    ``vpc`` is the caller's default VPC (some messages name it)."""
    if isinstance(exc, MalformedId):
        return Ec2Error(MALFORMED_ID_CODES[exc.kind or ""], exc.message)
    code = _code(exc) or next((c for cls, c in BASE_CODES if isinstance(exc, cls)), None)
    if code is None:
        return Ec2Error("InternalError")
    fields = _fields(exc, naming or (lambda kind, ident: ident), vpc)
    many = len(getattr(exc, "ids", None) or []) > 1
    template = (code.many if many and code.many else None) or code.message
    retry_after = exc.retry_after if isinstance(exc, errors.ServiceUnavailable) else None
    return Ec2Error(code.code, template.format(**fields) if template else exc.message,
                    retry_after)


def id_map_naming(ids: Ec2Ids) -> Naming:
    """Names objects by their EC2 IDs (read from the ID map, on the error path
    only); an id with none (a name, or an EC2 ID already) is kept."""
    kinds: dict[str, Kind] = {}
    for kind, resource in RESOURCES.items():  # a resource's first kind names it
        kinds.setdefault(resource, kind)

    def name(kind: str, ident: str) -> str:
        id_kind = kinds.get(kind)
        if id_kind is None or not ident:
            return ident
        try:
            return ids.existing(id_kind, [ident]).get(ident, ident)
        except errors.CoreError:  # the database is down: the id will do
            return ident

    return name


def error_body(error: Ec2Error, request_id: str) -> bytes:
    return (f"{XML_DECLARATION}<Response><Errors><Error><Code>{escape(error.code)}</Code>"
            f"<Message>{escape(error.message)}</Message></Error></Errors>"
            f"<RequestID>{escape(request_id)}</RequestID></Response>").encode()
