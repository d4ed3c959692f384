"""EC2's names for ports: a port a project uses (not a router's or a floating
IP's) is a network interface, ``eni-…``, minted when the port is made; its
binding to a server is an attachment, ``eni-attach-…``, minted when it is
bound and dropped when it is unbound, so each attachment has an ID of its own.

The attachment's device index (EC2's ``DeviceIndex``: 0 is the primary
interface, the one a server boots with) is kept in that mapping row's key,
``<port id>/<device index>``: the ID map holds it for as long as the
attachment lives, and nothing else needs storing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.idmap.ids import Kind, forget, mint_kinds, mint_new
from core.idmap.models import Ec2Id
from core.idmap.tag_table import forget_tags

_CHUNK = 500
_UUID = 36


def is_interface(device_owner: str) -> bool:
    """Whether a port with this owner is a network interface EC2 shows (a
    project's own port or a server's, not a network device's)."""
    return not device_owner.startswith("network:")


def attachment_key(port_id: str, device_index: int) -> str:
    return f"{port_id}/{device_index}"


def split_key(key: str) -> tuple[str, int]:
    """(port id, device index) of an attachment's mapping key."""
    port_id, _, index = key.rpartition("/")
    return port_id, int(index)


def mint_interfaces(s: Session, ports: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``eni-`` IDs of ports being made in ``s``: (port id, project id) pairs."""
    return mint_new(s, Kind.NETWORK_INTERFACE, ports)


def record_attachment(s: Session, port_id: str, project_id: str, device_index: int) -> str:
    """The ``eni-attach-`` ID of a binding made in ``s``."""
    key = attachment_key(port_id, device_index)
    return mint_new(s, Kind.ATTACHMENT, [(key, project_id)])[key]


def mint_bound(s: Session, made: Iterable[tuple[str, str]],
               bound: Iterable[tuple[str, str, int]]) -> None:
    """In one go: the ``eni-`` IDs of ports ``made`` in ``s`` ((port id, project
    id) pairs) and the ``eni-attach-`` IDs of the bindings made there ((port id,
    project id, device index))."""
    mint_kinds(s, {Kind.NETWORK_INTERFACE: made,
                   Kind.ATTACHMENT: [(attachment_key(port_id, index), project_id)
                                     for port_id, project_id, index in bound]})


def recorded_indexes(s: Session, port_ids: Sequence[str]) -> dict[str, int]:
    """The device index recorded for each of the ports that has one."""
    out: dict[str, int] = {}
    wanted = [p for p in dict.fromkeys(port_ids) if len(p) == _UUID]
    for start in range(0, len(wanted), _CHUNK):
        for key in s.scalars(select(Ec2Id.os_uuid).where(
                Ec2Id.kind == Kind.ATTACHMENT.value,
                func.substr(Ec2Id.os_uuid, 1, _UUID).in_(wanted[start:start + _CHUNK]))):
            port_id, index = split_key(key)
            out[port_id] = index
    return out


def drop_attachments(s: Session, port_ids: Sequence[str]) -> None:
    """Forget the attachments of ports unbound (or deleted) in ``s``."""
    wanted = [p for p in dict.fromkeys(port_ids) if len(p) == _UUID]
    for start in range(0, len(wanted), _CHUNK):
        s.execute(delete(Ec2Id).where(
            Ec2Id.kind == Kind.ATTACHMENT.value,
            func.substr(Ec2Id.os_uuid, 1, _UUID).in_(wanted[start:start + _CHUNK])),
            execution_options={"synchronize_session": False})


def forget_interfaces(s: Session, port_ids: Sequence[str]) -> None:
    """Ports deleted in ``s``: their ``eni-`` IDs and attachments go."""
    if port_ids:
        forget(s, Kind.NETWORK_INTERFACE, port_ids)
        forget_tags(s, Kind.NETWORK_INTERFACE, port_ids)
        drop_attachments(s, port_ids)


def device_indexes(recorded: dict[str, int], ports: Sequence[str]) -> dict[str, int]:
    """Device indexes of one server's ports (in the order they were made):
    recorded ones as recorded, the others (bound before EC2 recorded any) the
    lowest free ones in turn."""
    out = {p: recorded[p] for p in ports if p in recorded}
    used = set(out.values())
    free = 0
    for port in ports:
        if port in out:
            continue
        while free in used:
            free += 1
        out[port] = free
        used.add(free)
    return out
