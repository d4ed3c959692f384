"""The network domain's errors, each named exactly as Neutron's error type,
so the Network API's edge shows the class name as ``NeutronError.type``
(the EC2 edge maps them by their base class and ``kind``)."""

from __future__ import annotations

from core import errors


# ---- 404 ------------------------------------------------------------------------------
class NetworkNotFound(errors.NotFound):
    def __init__(self, id: str) -> None:
        super().__init__(f"Network {id} could not be found.", kind="network", id=id)


class SubnetNotFound(errors.NotFound):
    def __init__(self, id: str) -> None:
        super().__init__(f"Subnet {id} could not be found.", kind="subnet", id=id)


class PortNotFound(errors.NotFound):
    def __init__(self, id: str) -> None:
        super().__init__(f"Port {id} could not be found.", kind="port", id=id)


class RouterNotFound(errors.NotFound):
    def __init__(self, id: str) -> None:
        super().__init__(f"Router {id} could not be found.", kind="router", id=id)


class FloatingIPNotFound(errors.NotFound):
    def __init__(self, id: str) -> None:
        super().__init__(f"Floating IP {id} could not be found", kind="floating_ip", id=id)


class TagNotFound(errors.NotFound):
    def __init__(self, resource: str, id: str, tag: str) -> None:
        super().__init__(f"Tag {tag} could not be found for {resource} {id}.",
                         kind="network_tag", id=tag)


class ExternalGatewayForFloatingIPNotFound(errors.NotFound):
    def __init__(self, subnet_id: str, external_network_id: str, port_id: str) -> None:
        super().__init__(f"External network {external_network_id} is not reachable from "
                         f"subnet {subnet_id}.  Therefore, cannot associate Port {port_id} "
                         "with a Floating IP.", kind="router", id=external_network_id)


class RouterInterfaceNotFoundForSubnet(errors.NotFound):
    def __init__(self, router_id: str, subnet_id: str) -> None:
        super().__init__(f"Router {router_id} has no interface on subnet {subnet_id}",
                         kind="router", id=router_id)


class RouterInterfaceNotFound(errors.NotFound):
    def __init__(self, router_id: str, port_id: str) -> None:
        super().__init__(f"Router {router_id} does not have an interface with id {port_id}",
                         kind="router", id=router_id)


# ---- 409 ------------------------------------------------------------------------------
class NetworkInUse(errors.Conflict):
    def __init__(self, id: str) -> None:
        super().__init__(f"Unable to complete operation on network {id}. There are one or "
                         "more ports still in use on the network.", kind="network", id=id,
                         state="in-use")


class SubnetInUse(errors.Conflict):
    def __init__(self, id: str) -> None:
        super().__init__(f"Unable to complete operation on subnet {id}: One or more ports "
                         "have an IP allocation from this subnet.", kind="subnet", id=id,
                         state="in-use")


class PortInUse(errors.Conflict):
    def __init__(self, id: str, network_id: str, device_id: str) -> None:
        super().__init__(f"Unable to complete operation on port {id} for network "
                         f"{network_id}. Port already has an attached device {device_id}.",
                         kind="port", id=id, state="in-use")


class RouterInUse(errors.Conflict):
    def __init__(self, id: str, reason: str = "still has ports") -> None:
        super().__init__(f"Router {id} {reason}", kind="router", id=id, state="in-use")


class RouterInterfaceInUseByFloatingIP(errors.Conflict):
    def __init__(self, router_id: str, subnet_id: str) -> None:
        super().__init__(f"Router interface for subnet {subnet_id} on router {router_id} "
                         "cannot be deleted, as it is required by one or more floating IPs.",
                         kind="router", id=router_id, state="in-use")


class IpAddressInUse(errors.Conflict):
    def __init__(self, ip_address: str, network_id: str) -> None:
        super().__init__(f"Unable to complete operation for network {network_id}. The IP "
                         f"address {ip_address} is in use.", kind="network", id=network_id,
                         state="in-use")
        self.ip_address = ip_address


class IpAddressGenerationFailure(errors.Conflict):
    def __init__(self, network_id: str) -> None:
        super().__init__(f"No more IP addresses available on network {network_id}.",
                         kind="network", id=network_id, state="exhausted")


class MacAddressInUse(errors.Conflict):
    def __init__(self, mac: str, network_id: str) -> None:
        super().__init__(f"Unable to complete operation for network {network_id}. The mac "
                         f"address {mac} is in use.", kind="network", id=network_id,
                         state="in-use")


class FloatingIPPortAlreadyAssociated(errors.Conflict):
    def __init__(self, fip: str, address: str, port_id: str, fixed: str) -> None:
        super().__init__(f"Cannot associate floating IP {address} ({fip}) with port "
                         f"{port_id} using fixed IP {fixed}, as that fixed IP already has a "
                         "floating IP on external network.", kind="floating_ip", id=fip,
                         state="associated")


class SecurityGroupInUse(errors.Conflict):
    def __init__(self, id: str) -> None:
        super().__init__(f"Security Group {id} in use.", kind="security_group", id=id,
                         state="in-use")



# ---- 400 ------------------------------------------------------------------------------
class InvalidInput(errors.InvalidInput):
    """Neutron's 400 ``InvalidInput``: ``Invalid input for operation: ...``."""

    def __init__(self, reason: str, param: str | None = None) -> None:
        super().__init__(f"Invalid input for operation: {reason}", param=param)


class BadRequest(errors.InvalidInput):
    def __init__(self, resource: str, reason: str, param: str | None = None) -> None:
        super().__init__(f"Bad {resource} request: {reason}.", param=param)


class InvalidIpForSubnet(errors.InvalidInput):
    def __init__(self, ip_address: str) -> None:
        super().__init__(f"IP address {ip_address} is not a valid IP for the specified "
                         "subnet.", param="fixed_ips")


class InvalidIpForNetwork(errors.InvalidInput):
    def __init__(self, ip_address: str) -> None:
        super().__init__(f"IP address {ip_address} is not a valid IP for any of the subnets "
                         "on the specified network.", param="fixed_ips")


class ExternalNetworkRequired(errors.InvalidInput):
    """A floating IP (or router gateway) from a network that is not external."""

    def __init__(self, network_id: str) -> None:
        super().__init__(f"Bad floatingip request: Network {network_id} is not a valid "
                         "external network.", param="floating_network_id")


# ---- security groups (the Network API's names for the shared service's errors) --------
class SecurityGroupNotFound(errors.NotFound):
    def __init__(self, id: str) -> None:
        super().__init__(f"Security group {id} does not exist", kind="security_group", id=id)


class SecurityGroupRuleNotFound(errors.NotFound):
    def __init__(self, id: str) -> None:
        super().__init__(f"Security group rule {id} does not exist",
                         kind="security_group_rule", id=id)


class SecurityGroupRuleExists(errors.Conflict):
    def __init__(self, id: str) -> None:
        super().__init__(f"Security group rule already exists. Rule id is {id}.",
                         kind="security_group_rule", id=id, state="exists")


class SecurityGroupCannotRemoveDefault(errors.Conflict):
    def __init__(self, id: str) -> None:
        super().__init__("Insufficient rights for removing default security group.",
                         kind="security_group", id=id, state="default")


class SecurityGroupCannotUpdateDefault(errors.Conflict):
    def __init__(self, id: str) -> None:
        super().__init__("Updating default security group not allowed.",
                         kind="security_group", id=id, state="default")


class SecurityGroupNameExists(errors.Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"Security group {name} already exists in this project: names are "
                         "unique per project here (EC2 needs them to be).",
                         kind="security_group", id=name, state="exists")


class SecurityGroupRuleInvalid(errors.InvalidInput):
    def __init__(self, reason: str, param: str | None = None) -> None:
        super().__init__(reason, param=param)
