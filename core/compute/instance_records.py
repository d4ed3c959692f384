"""The compute domain's answers to what network asks of instances
(:class:`core.network.interfaces.InstanceRecords`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.compute.instance_store import InstanceStore
from core.compute.models import Instance


class InstanceRecords:
    def __init__(self, store: InstanceStore) -> None:
        self.store = store

    def project_of(self, uuid: str) -> str:
        return self.store.get(uuid).project_id

    def is_live(self, s: Session, uuid: str) -> bool:
        return s.scalar(select(Instance.id).where(Instance.uuid == uuid,
                                                  Instance.deleted.is_(False))) is not None

    def security_groups_in_use(self, s: Session, project_id: str
                               ) -> list[tuple[str, list[str]]]:
        return [(uuid, list(names or [])) for uuid, names in s.execute(
            select(Instance.uuid, Instance.security_groups).where(
                Instance.project_id == project_id, Instance.deleted.is_(False)))]

    def set_security_groups(self, s: Session, uuid: str, names: Sequence[str]) -> None:
        self.store.update(uuid, {"security_groups": list(names)}, s=s)
