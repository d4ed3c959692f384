"""Network interfaces: the ports of the Network API under ``eni-`` IDs.

An interface is a port of the caller's project that is not a network
device's (a router's, a floating IP's): made here with CreateNetworkInterface
or with ``openstack port create``, or by compute for a server. Attaching
binds the port to a server as Nova's interface attach does; its attachment
is ``eni-attach-…`` with the device index (0, the server's primary
interface, never detaches). ``SourceDestCheck`` off is the allowed address
pair 0.0.0.0/0, as OpenStack's ec2-api had it. Policy: the port's
``network:*`` rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core import errors
from core.context import RequestContext
from core.idmap.ids import Kind, canonical_id
from core.network.attachments import Interface
from core.network.interface_ids import is_interface, split_key
from core.network.query import ListQuery
from core.tagging.rules import Resource, check_tags
from gateway.ec2.api import Call, action
from gateway.ec2.errors import Ec2Error
from gateway.ec2.filters import Filters
from gateway.ec2.handlers.base import Ec2Deps, Handler
from gateway.ec2.handlers.instances import PENDING, RUNNING, STOPPED, Instances, state_of
from gateway.ec2.handlers.interface_views import InterfaceViews
from gateway.ec2.handlers.tags import tag_specifications
from gateway.ec2.paging import page, reject_ids_with_max_results

GET = "network:get_port"
CREATE = "network:create_port"
UPDATE = "network:update_port"
DELETE = "network:delete_port"
ANY_ADDRESS = {"ip_address": "0.0.0.0/0"}


def _association(key: str) -> Any:
    return lambda n: [(a.get("Association") or {}).get(key)
                      for a in n["PrivateIpAddresses"]]


INTERFACE_FILTERS: Filters[dict[str, Any]] = Filters({
    "network-interface-id": lambda n: n["NetworkInterfaceId"],
    "subnet-id": lambda n: n["SubnetId"],
    "vpc-id": lambda n: n["VpcId"],
    "availability-zone": lambda n: n["AvailabilityZone"],
    "description": lambda n: n["Description"],
    "mac-address": lambda n: n["MacAddress"],
    "owner-id": lambda n: n["OwnerId"],
    "status": lambda n: n["Status"],
    "interface-type": lambda n: n["InterfaceType"],
    "requester-managed": lambda n: n["RequesterManaged"],
    "source-dest-check": lambda n: n["SourceDestCheck"],
    "private-ip-address": lambda n: [a["PrivateIpAddress"] for a in n["PrivateIpAddresses"]],
    "private-dns-name": lambda n: n["PrivateDnsName"] or None,
    "addresses.private-ip-address":
        lambda n: [a["PrivateIpAddress"] for a in n["PrivateIpAddresses"]],
    "addresses.primary": lambda n: [a["Primary"] for a in n["PrivateIpAddresses"]],
    "addresses.association.public-ip": _association("PublicIp"),
    "addresses.association.owner-id": _association("IpOwnerId"),
    "association.public-ip": lambda n: (n.get("Association") or {}).get("PublicIp"),
    "association.allocation-id": lambda n: (n.get("Association") or {}).get("AllocationId"),
    "association.association-id":
        lambda n: (n.get("Association") or {}).get("AssociationId"),
    "association.ip-owner-id": lambda n: (n.get("Association") or {}).get("IpOwnerId"),
    "attachment.attachment-id": lambda n: (n.get("Attachment") or {}).get("AttachmentId"),
    "attachment.instance-id": lambda n: (n.get("Attachment") or {}).get("InstanceId"),
    "attachment.instance-owner-id":
        lambda n: (n.get("Attachment") or {}).get("InstanceOwnerId"),
    "attachment.device-index": lambda n: (n.get("Attachment") or {}).get("DeviceIndex"),
    "attachment.status": lambda n: (n.get("Attachment") or {}).get("Status"),
    "attachment.delete-on-termination":
        lambda n: (n.get("Attachment") or {}).get("DeleteOnTermination"),
    "group-id": lambda n: [g["GroupId"] for g in n["Groups"]],
    "group-name": lambda n: [g["GroupName"] for g in n["Groups"]],
}, tags=lambda n: {t["Key"]: t["Value"] for t in n["TagSet"]})

# DescribeNetworkInterfaceAttribute: attribute -> output member.
ATTRIBUTES = {"description": "Description", "groupSet": "Groups",
              "sourceDestCheck": "SourceDestCheck", "attachment": "Attachment",
              "associatePublicIpAddress": "AssociatePublicIpAddress"}


class NetworkInterfaces(Handler):
    def __init__(self, deps: Ec2Deps) -> None:
        super().__init__(deps)
        self.views = InterfaceViews(deps)
        self.instances = Instances(deps)
        self.ports = deps.network.ports
        self.attachments = deps.network.attachments

    # ---- lookups ----------------------------------------------------------------
    def port_of(self, ctx: RequestContext, eni_id: str) -> Interface:
        """The caller's interface an ``eni-`` ID names (or NotFound)."""
        canonical = canonical_id(Kind.NETWORK_INTERFACE, eni_id)
        port_id = self.os_id(Kind.NETWORK_INTERFACE, canonical)
        try:
            port = self.ports.get(ctx, port_id)
        except errors.NotFound:
            raise errors.NotFound(kind="port", id=canonical) from None
        if port["project_id"] != ctx.project_id or not is_interface(port["device_owner"]):
            raise errors.NotFound(kind="port", id=canonical)
        return self.attachments.of_ports([port_id])[port_id]

    def _own(self, ctx: RequestContext) -> list[Interface]:
        rows = self.ports.list(ctx, ListQuery(filters={"project_id": [ctx.project_id or ""]}))
        ids = [r["id"] for r in rows if is_interface(r["device_owner"])]
        found = self.attachments.of_ports(ids)
        return [found[i] for i in ids if i in found]

    def _groups(self, ctx: RequestContext, group_ids: Sequence[str]) -> list[str]:
        if not group_ids:
            return []
        uuids = self.os_ids(Kind.SECURITY_GROUP, group_ids)
        return [uuids[canonical_id(Kind.SECURITY_GROUP, g)] for g in group_ids]

    def _view(self, ctx: RequestContext, item: Interface) -> dict[str, Any]:
        return self.views.network_interfaces(ctx, [item])[0]

    # ---- create / delete / describe -------------------------------------------------
    @action("CreateNetworkInterface", rules=(CREATE,))
    def create_network_interface(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        network_id = self.views.names.network_of_subnet(ctx, call.get("SubnetId", ""))
        attrs: dict[str, Any] = {"network_id": network_id,
                                 "description": call.get("Description", "")}
        fixed = self._addresses(call, network_id)
        if fixed:
            attrs["fixed_ips"] = fixed
        groups = self._groups(ctx, call.get("Groups") or [])
        self.views.groups.check(ctx, network_id, groups)
        default = None if groups else self.views.groups.default_group(network_id)
        if groups or default:
            attrs["security_groups"] = groups or [default]
        if call.get("Ipv6AddressCount") or call.get("Ipv6Addresses"):
            raise Ec2Error("InvalidParameterValue", "IPv6 addresses are not supported by "
                                                    "this cloud.")
        tags = tag_specifications(call, "network-interface")
        check_tags(tags)
        port = self.ports.create(ctx, attrs)
        if tags:
            eni = self.deps.ids.existing(Kind.NETWORK_INTERFACE, [port["id"]])[port["id"]]
            self.deps.tags.create(ctx, [Resource(Kind.NETWORK_INTERFACE, eni, port["id"])],
                                  tags)
        item = self.attachments.of_ports([port["id"]])[port["id"]]
        return {"NetworkInterface": self._view(ctx, item), "ClientToken": call.get(
            "ClientToken")}

    def _addresses(self, call: Call, network_id: str) -> list[dict[str, str]]:
        """fixed_ips of PrivateIpAddress(es) and SecondaryPrivateIpAddressCount:
        the primary first."""
        primary = call.get("PrivateIpAddress")
        listed = call.get("PrivateIpAddresses", [])
        firsts = [a["PrivateIpAddress"] for a in listed if a.get("Primary")]
        if len(firsts) > 1 or (primary and firsts and firsts[0] != primary):
            raise Ec2Error("InvalidParameterValue", "Only one primary private IP address "
                                                    "can be given.")
        primary = primary or (firsts[0] if firsts else None)
        addresses = ([primary] if primary else []) + [
            a["PrivateIpAddress"] for a in listed if a["PrivateIpAddress"] != primary]
        fixed = [{"ip_address": a} for a in dict.fromkeys(addresses)]
        count = call.get("SecondaryPrivateIpAddressCount") or 0
        if count:
            subnet = self._subnet_uuid(call.ctx, network_id)
            if not fixed:
                fixed.append({"subnet_id": subnet})
            fixed.extend({"subnet_id": subnet} for _ in range(count))
        return fixed

    def _subnet_uuid(self, ctx: RequestContext, network_id: str) -> str:
        subnets = self.deps.network.networks.get(ctx, network_id).get("subnets") or []
        if not subnets:
            raise Ec2Error("InvalidParameterValue", "The subnet has no addresses.")
        return str(subnets[0])

    @action("DeleteNetworkInterface", rules=(DELETE,))
    def delete_network_interface(self, call: Call) -> None:
        item = self.port_of(call.ctx, call.get("NetworkInterfaceId", ""))
        if item.device_id:
            raise errors.Conflict(kind="port", id=item.port_id, state="in-use")
        self.ports.delete(call.ctx, item.port_id)

    @action("DescribeNetworkInterfaces", rules=(GET,))
    def describe_network_interfaces(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        wanted = call.get("NetworkInterfaceIds", [])
        max_results = call.get("MaxResults")
        reject_ids_with_max_results(wanted, max_results, "networkInterfaceIds")
        if max_results is not None and not 5 <= max_results <= 1000:
            raise Ec2Error("InvalidParameterValue",
                           f"Value ( {max_results} ) for parameter maxResults is invalid. "
                           "Expecting a value between 5 and 1000.")
        if wanted:
            items = [self.port_of(ctx, w) for w in dict.fromkeys(wanted)]
        else:
            items = self._own(ctx)
        views = self.views.network_interfaces(ctx, items)
        views = INTERFACE_FILTERS.apply(views, self.owner_filters(call.get("Filters")))
        views.sort(key=lambda v: v["NetworkInterfaceId"])
        chunk, token = page(views, lambda v: v["NetworkInterfaceId"], max_results,
                            call.get("NextToken"))
        return {"NetworkInterfaces": chunk, "NextToken": token}

    # ---- attach / detach ---------------------------------------------------------------
    @action("AttachNetworkInterface", rules=(UPDATE,))
    def attach_network_interface(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        item = self.port_of(ctx, call.get("NetworkInterfaceId", ""))
        (inst,) = self.instances.find(ctx, [call.get("InstanceId", "")])
        index = call.get("DeviceIndex")
        if index is None or index < 0:
            raise Ec2Error("InvalidParameterValue", f"Invalid value '{index}' for "
                                                    "deviceIndex.")
        if state_of(inst) not in (RUNNING, STOPPED, PENDING) or inst.deleted:
            instance_id = self.instances.ec2_ids([inst])[inst.uuid]
            raise Ec2Error("IncorrectInstanceState", f"The instance '{instance_id}' is not "
                                                     "in a state to attach an interface to.")
        key = self.attachments.attach(ctx, item.port_id, inst.uuid, inst.host or "", index)
        attachment = self.deps.ids.ec2_id_for(Kind.ATTACHMENT, key, item.project_id)
        return {"AttachmentId": attachment, "NetworkCardIndex": 0}

    @action("DetachNetworkInterface", rules=(UPDATE,))
    def detach_network_interface(self, call: Call) -> None:
        value = call.get("AttachmentId", "")
        canonical = canonical_id(Kind.ATTACHMENT, value)
        key = self.deps.ids.os_uuids_for(Kind.ATTACHMENT, [canonical]).get(canonical)
        if key is None:
            raise errors.NotFound(kind="network_interface_attachment", id=canonical)
        port_id, _index = split_key(key)
        try:
            self.attachments.detach(call.ctx, port_id)
        except errors.NotFound as exc:
            raise errors.NotFound(kind="network_interface_attachment", id=canonical) from exc

    # ---- attributes ---------------------------------------------------------------------
    @action("DescribeNetworkInterfaceAttribute", rules=(GET,))
    def describe_network_interface_attribute(self, call: Call) -> dict[str, Any]:
        attribute = call.get("Attribute")
        item = self.port_of(call.ctx, call.get("NetworkInterfaceId", ""))
        view = self._view(call.ctx, item)
        out: dict[str, Any] = {"NetworkInterfaceId": view["NetworkInterfaceId"]}
        if attribute is None:
            raise Ec2Error("InvalidParameterCombination", "The parameter attribute is "
                                                          "required.")
        if attribute not in ATTRIBUTES:
            raise Ec2Error("InvalidParameterValue", f"Value ({attribute}) for parameter "
                                                    "attribute is invalid.")
        member = ATTRIBUTES[attribute]
        if member == "Description":
            out[member] = {"Value": view["Description"]}
        elif member == "SourceDestCheck":
            out[member] = {"Value": view["SourceDestCheck"]}
        elif member == "AssociatePublicIpAddress":
            out[member] = bool(view.get("Association"))
        else:
            out[member] = view.get(member)
        return out

    @action("ModifyNetworkInterfaceAttribute", rules=(UPDATE,))
    def modify_network_interface_attribute(self, call: Call) -> None:
        ctx = call.ctx
        item = self.port_of(ctx, call.get("NetworkInterfaceId", ""))
        given = [m for m in ("Description", "SourceDestCheck", "Groups", "Attachment")
                 if call.get(m) is not None]
        if len(given) != 1:
            raise Ec2Error("InvalidParameterCombination",
                           "Exactly one attribute must be modified in one request.")
        (member,) = given
        value = call.get(member)
        if member == "Description":
            self.ports.update(ctx, item.port_id, {"description": value.get("Value") or ""})
        elif member == "Groups":
            groups = self._groups(ctx, value)
            self.views.groups.check(ctx, item.network_id, groups)
            self.ports.update(ctx, item.port_id, {"security_groups": groups})
        elif member == "SourceDestCheck":
            pairs = [p for p in self.ports.get(ctx, item.port_id)["allowed_address_pairs"]
                     if p != ANY_ADDRESS]
            if not value.get("Value"):
                pairs.append(dict(ANY_ADDRESS))
            self.ports.update(ctx, item.port_id, {"allowed_address_pairs": pairs})
        else:
            self._delete_on_termination(call, item, value)

    def _delete_on_termination(self, call: Call, item: Interface, value: Any) -> None:
        found = self.views.lookups(call.ctx, [item]).attachments
        wanted = value.get("AttachmentId")
        if not item.device_id or wanted not in found.values():
            raise errors.NotFound(kind="network_interface_attachment", id=wanted or "")
        if value.get("DeleteOnTermination") is not None:
            self.attachments.set_delete_on_termination(
                call.ctx, item.port_id, bool(value["DeleteOnTermination"]))

    # ---- private addresses -----------------------------------------------------------
    @action("AssignPrivateIpAddresses", rules=(UPDATE,))
    def assign_private_ip_addresses(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        item = self.port_of(ctx, call.get("NetworkInterfaceId", ""))
        current = [dict(f) for f in item.fixed_ips]
        wanted = list(call.get("PrivateIpAddresses", []))
        count = call.get("SecondaryPrivateIpAddressCount") or 0
        if not wanted and not count:
            raise Ec2Error("MissingParameter", "The request must contain the parameter "
                                               "privateIpAddresses or "
                                               "secondaryPrivateIpAddressCount")
        held = {f["ip_address"] for f in current}
        added = [{"ip_address": a} for a in dict.fromkeys(wanted) if a not in held]
        if count:
            subnet = self._subnet_uuid(ctx, item.network_id)
            added.extend({"subnet_id": subnet} for _ in range(count))
        after = self.ports.update(ctx, item.port_id, {"fixed_ips": current + added})
        new = [f["ip_address"] for f in after["fixed_ips"] if f["ip_address"] not in held]
        return {"NetworkInterfaceId": self.views.lookups(ctx, [item]).enis[item.port_id],
                "AssignedPrivateIpAddresses": [{"PrivateIpAddress": a} for a in new]}

    @action("UnassignPrivateIpAddresses", rules=(UPDATE,))
    def unassign_private_ip_addresses(self, call: Call) -> None:
        ctx = call.ctx
        item = self.port_of(ctx, call.get("NetworkInterfaceId", ""))
        wanted = list(dict.fromkeys(call.get("PrivateIpAddresses", [])))
        if not wanted:
            raise Ec2Error("MissingParameter", "The request must contain the parameter "
                                               "privateIpAddress")
        held = [f["ip_address"] for f in item.fixed_ips]
        for address in wanted:
            if address not in held:
                raise Ec2Error("InvalidParameterValue", f"Some of the specified addresses "
                                                        f"are not assigned to interface "
                                                        f"{call.get('NetworkInterfaceId')}")
            if address == held[0]:
                raise Ec2Error("InvalidParameterValue", "The primary private IP address "
                                                        f"{address} cannot be unassigned.")
        keep = [f for f in item.fixed_ips if f["ip_address"] not in wanted]
        self.ports.update(ctx, item.port_id, {"fixed_ips": keep})
