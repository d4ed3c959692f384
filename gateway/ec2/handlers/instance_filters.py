"""The filters of DescribeInstances and DescribeInstanceStatus, over the
instances' views (``Instance`` and ``InstanceStatus`` shapes)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from core.compute.server_listing import ServerQuery
from gateway.ec2.filters import Filters


def _nics(key: str) -> Any:
    return lambda i: [n.get(key) for n in i.get("NetworkInterfaces") or []]


def _nic_list(key: str, inner: str) -> Any:
    return lambda i: [v.get(inner) for n in i.get("NetworkInterfaces") or []
                      for v in n.get(key) or []]


def _nic_part(part: str, key: str) -> Any:
    return lambda i: [(n.get(part) or {}).get(key) for n in i.get("NetworkInterfaces") or []]


# network-interface.*: over the instance's interfaces
NIC_GETTERS: Mapping[str, Any] = {
    "network-interface-id": _nics("NetworkInterfaceId"),
    "subnet-id": _nics("SubnetId"),
    "vpc-id": _nics("VpcId"),
    "mac-address": _nics("MacAddress"),
    "owner-id": _nics("OwnerId"),
    "status": _nics("Status"),
    "description": _nics("Description"),
    "source-dest-check": _nics("SourceDestCheck"),
    "private-dns-name": _nics("PrivateDnsName"),
    "addresses.private-ip-address": _nic_list("PrivateIpAddresses", "PrivateIpAddress"),
    "addresses.primary": _nic_list("PrivateIpAddresses", "Primary"),
    "group-id": _nic_list("Groups", "GroupId"),
    "group-name": _nic_list("Groups", "GroupName"),
    "attachment.attachment-id": _nic_part("Attachment", "AttachmentId"),
    "attachment.device-index": _nic_part("Attachment", "DeviceIndex"),
    "attachment.status": _nic_part("Attachment", "Status"),
    "attachment.delete-on-termination": _nic_part("Attachment", "DeleteOnTermination"),
    "association.public-ip": _nic_part("Association", "PublicIp"),
    "association.ip-owner-id": _nic_part("Association", "IpOwnerId"),
}


def _bdms(key: str) -> Any:
    """block-device-mapping.*: over the instance's volumes."""
    return lambda i: [m.get(key) if key == "DeviceName" else (m.get("Ebs") or {}).get(key)
                      for m in i.get("BlockDeviceMappings") or []]


def tag_dict(inst: Mapping[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in inst["Tags"]}


INSTANCE_FILTERS: Filters[dict[str, Any]] = Filters({
    "instance-id": lambda i: i["InstanceId"],
    "instance-state-name": lambda i: i["State"]["Name"],
    "instance-state-code": lambda i: i["State"]["Code"],
    "instance-type": lambda i: i["InstanceType"],
    "image-id": lambda i: i["ImageId"],
    "key-name": lambda i: i["KeyName"],
    "availability-zone": lambda i: i["Placement"]["AvailabilityZone"],
    "private-ip-address": lambda i: i["PrivateIpAddress"],
    "private-dns-name": lambda i: i["PrivateDnsName"] or None,
    "ip-address": lambda i: i.get("PublicIpAddress"),
    "dns-name": lambda i: i["PublicDnsName"] or None,
    "client-token": lambda i: i.get("ClientToken"),
    "reservation-id": lambda i: i["_reservation"],
    "owner-id": lambda i: i["_owner"],
    "vpc-id": lambda i: i["VpcId"],
    "subnet-id": lambda i: i["SubnetId"],
    "architecture": lambda i: i["Architecture"],
    "launch-index": lambda i: i["AmiLaunchIndex"],
    "root-device-type": lambda i: i["RootDeviceType"],
    "root-device-name": lambda i: i["RootDeviceName"],
    "block-device-mapping.device-name": _bdms("DeviceName"),
    "block-device-mapping.volume-id": _bdms("VolumeId"),
    "block-device-mapping.status": _bdms("Status"),
    "block-device-mapping.delete-on-termination": _bdms("DeleteOnTermination"),
    "instance.group-id": lambda i: [g["GroupId"] for g in i["SecurityGroups"]],
    "instance.group-name": lambda i: [g["GroupName"] for g in i["SecurityGroups"]],
    "group-id": lambda i: [g["GroupId"] for g in i["SecurityGroups"]],
    "group-name": lambda i: [g["GroupName"] for g in i["SecurityGroups"]],
    **{f"network-interface.{name}": getter for name, getter in NIC_GETTERS.items()},
}, tags=tag_dict)

STATUS_FILTERS: Filters[dict[str, Any]] = Filters({
    "availability-zone": lambda s: s["AvailabilityZone"],
    "instance-state-name": lambda s: s["InstanceState"]["Name"],
    "instance-state-code": lambda s: s["InstanceState"]["Code"],
    "instance-status.status": lambda s: s["InstanceStatus"]["Status"],
    "instance-status.reachability":
        lambda s: [d["Status"] for d in s["InstanceStatus"].get("Details", [])],
    "system-status.status": lambda s: s["SystemStatus"]["Status"],
    "system-status.reachability":
        lambda s: [d["Status"] for d in s["SystemStatus"].get("Details", [])],
})



def _exact(values: Sequence[str]) -> bool:
    """Whether no value is a pattern (``*``, ``?``, ``\\``)."""
    return all(isinstance(v, str) and not any(c in v for c in "*?\\") for v in values)


def database_query(filters: Sequence[Mapping[str, Any]] | None,
                   uuids_of: Callable[[list[str]], Mapping[str, str]]) -> ServerQuery:
    """The part of DescribeInstances' ``Filters`` the database applies first:
    ``instance-id`` and ``instance-state-name`` given exact values. What it
    selects is a superset of what those filters pass (every filter is still
    applied to the views), so the answer is the same, only read sooner.
    ``uuids_of``: server uuids by EC2 instance ID (unknown IDs absent)."""
    q = ServerQuery()
    for f in filters or ():
        name, values = f.get("Name"), list(f.get("Values") or [])
        if not values or not _exact(values):
            continue
        if name == "instance-id" and q.uuids is None:
            q.uuids = list(uuids_of(values).values())
        elif name == "instance-state-name" and not q.ec2_states:
            q.ec2_states = values
    return q
