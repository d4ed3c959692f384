"""A server's diagnostics (Nova's ``os-server-diagnostics``, admins): the
counters its host's driver reports, asked of the host's agent over the bus."""

from __future__ import annotations

from typing import Any

from core import errors
from core.compute import states
from core.compute.instance_store import instance_message
from core.compute.rpcapi import AgentClient
from core.compute.servers import ServerService
from core.context import RequestContext
from core.messaging.errors import MessagingTimeout, RemoteError


class ServerDiagnostics:
    def __init__(self, servers: ServerService, agents: AgentClient) -> None:
        self.servers = servers
        self.agents = agents

    def get(self, ctx: RequestContext, server_id: str) -> dict[str, Any]:
        """The driver's counters (state, uptime, cpus, memory_mb, disks) and the
        server's flavor; Conflict unless the server is on a host and active."""
        inst = self.servers.get(ctx, server_id, "os_compute_api:os-server-diagnostics")
        if inst.vm_state != states.ACTIVE or not inst.host:
            raise errors.Conflict(f"Cannot 'get_diagnostics' instance {inst.uuid} while it "
                                  f"is in vm_state {inst.vm_state}", kind="instance",
                                  id=inst.uuid, state=inst.vm_state)
        try:
            found = self.agents.get_diagnostics(inst.host, instance_message(inst))
        except MessagingTimeout:
            raise errors.ServiceUnavailable(f"The compute host {inst.host} did not answer; "
                                            "retry later.") from None
        except RemoteError as exc:
            raise errors.Conflict(f"Could not read the diagnostics of instance {inst.uuid}: "
                                  f"{exc.remote_message}", kind="instance",
                                  id=inst.uuid) from None
        return {**found, "vcpus": inst.vcpus, "memory_mb": inst.memory_mb}
