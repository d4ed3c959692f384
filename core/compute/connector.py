"""A compute host's volume connector, as os-brick describes a host to Cinder:
what the host's agent sends when it connects a volume, and what the conductor
gives an attachment when a move takes the server to another host. No database
here: the agent imports it."""

from __future__ import annotations

from typing import Any


def host_connector(host: str, ip: str, mountpoint: str | None, mode: str | None
                   ) -> dict[str, Any]:
    return {"host": host, "ip": ip, "initiator": f"iqn.2026-01.org.nimbus:{host}",
            "platform": "x86_64", "os_type": "linux", "multipath": False,
            "mountpoint": mountpoint, "mode": mode or "rw"}
