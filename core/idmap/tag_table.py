"""The ``ec2_tags`` table: EC2 tags of the kinds that keep no key/value store of
their own (images, key pairs, security groups, addresses, volumes, snapshots).

Describe calls read an object's tags with :func:`resource_tags`; a service
deleting an object drops its tags with :func:`forget_tags` in the deleting
transaction (rows of objects whose EC2 ID is gone are never listed either way).
Writing tags is :class:`core.tagging.service.TagService`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.db import Database
from core.idmap.ids import Kind
from core.idmap.models import Ec2Tag

_CHUNK = 500


def chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    """``values`` in slices small enough for one ``IN (...)``."""
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def resource_tags(db: Database, kind: Kind, project_id: str,
                  os_uuids: Iterable[str]) -> dict[str, list[dict[str, str]]]:
    """The tags project ``project_id`` put on objects of ``kind`` (kept in the
    ``ec2_tags`` table), as the ``Tags`` member of describe answers
    (``[{"Key": …, "Value": …}]`` sorted by key), by OpenStack id. Every id
    asked for is in the answer, with ``[]`` if it has no tags."""
    wanted = list(dict.fromkeys(os_uuids))
    out: dict[str, list[dict[str, str]]] = {u: [] for u in wanted}
    with db.session() as s:
        for chunk in chunks(wanted):
            rows = s.execute(select(Ec2Tag.os_uuid, Ec2Tag.key, Ec2Tag.value).where(
                Ec2Tag.kind == kind.value, Ec2Tag.project_id == project_id,
                Ec2Tag.os_uuid.in_(chunk)).order_by(Ec2Tag.os_uuid, Ec2Tag.key))
            for os_uuid, key, value in rows:
                out[os_uuid].append({"Key": key, "Value": value})
    return out


def forget_tags(s: Session, kind: Kind, os_uuids: Iterable[str]) -> None:
    """Drop, in the caller's transaction, every project's tags on objects being
    deleted there."""
    wanted = list(dict.fromkeys(os_uuids))
    for chunk in chunks(wanted):
        s.execute(delete(Ec2Tag).where(Ec2Tag.kind == kind.value, Ec2Tag.os_uuid.in_(chunk)))
