"""What the network domain asks of the instances that use it.

Network sits below compute (compute → network, never the other way): the
compute domain implements :class:`InstanceRecords` (``core.compute.instance_records``)
and the service builder hands it to the network services.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session


class InstanceRecords(Protocol):
    def project_of(self, uuid: str) -> str:
        """The project owning the live instance ``uuid``; NotFound if there is none."""

    def is_live(self, s: Session, uuid: str) -> bool:
        """Whether the instance exists and is not deleted, read in ``s``'s transaction."""

    def security_groups_in_use(self, s: Session, project_id: str
                               ) -> list[tuple[str, list[str]]]:
        """(uuid, group names) of the project's live instances, read in ``s``."""

    def set_security_groups(self, s: Session, uuid: str, names: Sequence[str]) -> None:
        """Record ``names`` as the groups of instance ``uuid``, in ``s``."""
