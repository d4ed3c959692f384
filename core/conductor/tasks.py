"""What every conductor flow works with, and the task base the long flows run on.

A :class:`Task` is one run of a flow (one build, one resize). Its steps run in
:meth:`Task.execute`; when a step raises, :meth:`Task.rollback` undoes what
this run did (releases the claims it took, gives back what it reserved, puts
the instance where it can be retried or marks it failed) and the error goes
on, as Nova's conductor tasks do. A rollback only touches what its own run
took: a redelivered message runs a new task, which finds the first run's
work by the compare-and-swaps on the instance's task_state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from core import errors
from core.compute.instance_store import InstanceStore
from core.compute.notifications import Notifier
from core.compute.rpcapi import SCHEDULER, AgentClient
from core.db import Database
from core.image.service import ImageService
from core.messaging.errors import RemoteError
from core.messaging.interfaces import MessageBus
from core.metrics import Metrics
from core.network.instance_ports import InstanceNetworking
from core.quota.service import QuotaService
from core.settings import Settings

log = logging.getLogger(__name__)

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."


class Destinations:
    """The scheduler's choice of hosts: over the bus, or by calling the
    scheduler's endpoints directly when one runs in this process (the
    all-in-one), which saves a round trip through the bus per build."""

    def __init__(self, bus: MessageBus, local: Any = None, timeout: float = 60.0) -> None:
        self.bus = bus
        self.local = local
        self.timeout = timeout

    def select(self, spec: dict) -> list[list[dict]] | None:
        """Hosts for each instance of ``spec`` (each claimed by the scheduler),
        or None when no host fits. MessagingTimeout if no scheduler answered."""
        if self.local is not None:
            try:
                return self.local.select_destinations(spec=spec)
            except errors.CoreError as exc:
                if type(exc).__name__ == "NoValidHost":
                    return None
                raise
        try:
            return self.bus.call(SCHEDULER, "select_destinations", {"spec": spec},
                                 timeout=self.timeout)
        except RemoteError as exc:
            if exc.exc_type == "NoValidHost":
                return None
            raise


@dataclass(frozen=True)
class ConductorDeps:
    """The collaborators of one conductor's flows (built by ``core.conductor.wiring``)."""

    settings: Settings
    db: Database
    store: InstanceStore
    quotas: QuotaService
    ipam: InstanceNetworking
    images: ImageService | None
    agents: AgentClient
    notifier: Notifier
    destinations: Destinations
    metrics: Metrics = field(default_factory=Metrics)
    # core.volume's VolumeServices bundle (volumes, attachments); None: no block storage
    volumes: Any = None

    def fixed_ips(self, uuid: str) -> list[dict]:
        """The instance's fixed addresses as notifications carry them."""
        return [{"address": a.address, "label": a.network, "version": a.version,
                 "vif_mac": a.mac_address, "type": "fixed"}
                for a in self.ipam.addresses_for([uuid]).get(uuid, [])]


class Task:
    """One run of a flow that rolls back what it did when a step fails."""

    def __init__(self, deps: ConductorDeps) -> None:
        self.deps = deps

    def execute(self) -> Any:
        try:
            return self._execute()
        except Exception as exc:
            try:
                self.rollback(exc)
            except Exception:  # noqa: BLE001 - the first error is the one to report
                log.exception("%s: rolling back failed", type(self).__name__)
            raise

    def _execute(self) -> Any:
        raise NotImplementedError

    def rollback(self, exc: Exception) -> None:
        """Undo what this run did before ``exc`` (nothing, by default)."""
