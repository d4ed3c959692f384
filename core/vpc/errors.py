"""The VPC family's domain errors; the EC2 edge gives each its AWS code."""

from __future__ import annotations

from core import errors


class DependencyViolation(errors.Conflict):
    """An object others still depend on (a VPC with subnets, a subnet with
    instances, an attached gateway, a route table in use)."""

    def __init__(self, kind: errors.ResourceKind, id: str, reason: str) -> None:
        super().__init__(f"The {kind.replace('_', ' ')} '{id}' has dependencies and cannot "
                         f"be deleted: {reason}.", kind=kind, id=id, state="in-use",
                         reason=reason)


class VpcRangeInvalid(errors.InvalidInput):
    def __init__(self, cidr: str) -> None:
        super().__init__(f"The CIDR '{cidr}' is invalid.", param="CidrBlock", cidr=cidr)


class SubnetRangeInvalid(errors.InvalidInput):
    def __init__(self, cidr: str, reason: str = "is invalid") -> None:
        super().__init__(f"The CIDR '{cidr}' {reason}.", param="CidrBlock", cidr=cidr)


class SubnetConflict(errors.Conflict):
    def __init__(self, cidr: str) -> None:
        super().__init__(f"The CIDR '{cidr}' conflicts with another subnet", kind="subnet",
                         cidr=cidr)


class GatewayNotAttached(errors.Conflict):
    def __init__(self, gateway_id: str, vpc_id: str) -> None:
        super().__init__(f"resource {gateway_id} is not attached to network {vpc_id}",
                         kind="internet_gateway", id=gateway_id, vpc_id=vpc_id)


class AlreadyAssociated(errors.Conflict):
    """A gateway or route table association that exists already (``other``:
    the object it is associated with)."""

    def __init__(self, kind: errors.ResourceKind, id: str, other: str) -> None:
        super().__init__(f"resource {id} is already associated with {other}", kind=kind,
                         id=id, other=other)


class RouteExists(errors.Conflict):
    def __init__(self, route_table_id: str, destination: str) -> None:
        super().__init__(f"The route identified by {destination} already exists.",
                         kind="route_table", id=route_table_id, destination=destination)


class RouteNotFound(errors.NotFound):
    def __init__(self, route_table_id: str, destination: str) -> None:
        super().__init__(f"The route identified by {destination} was not found",
                         kind="route_table", id=route_table_id, by="route",
                         destination=destination)
