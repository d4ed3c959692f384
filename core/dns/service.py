"""Building the responder from the settings, for ``python -m core.dns`` and for
the all-in-one API process."""

from __future__ import annotations

import logging

from core.db import Database
from core.dns.records import DatabaseRecords
from core.dns.server import DnsServer
from core.dns.zone import zones_for
from core.settings import Settings

log = logging.getLogger(__name__)


def dns_server(settings: Settings, db: Database, host: str | None = None,
               port: int | None = None) -> DnsServer:
    """A responder (not started) answering from ``db`` on the configured address."""
    return DnsServer(zones_for(settings, DatabaseRecords(db)), host or settings.dns_host,
                     settings.dns_port if port is None else port)


def start_in_process(settings: Settings, db: Database) -> DnsServer | None:
    """Start the responder beside the API (all-in-one). A port already taken is
    logged and leaves the API serving: DNS is an add-on to it, not a reason to fail."""
    try:
        return dns_server(settings, db).start()
    except OSError as exc:
        log.error("DNS responder not started on %s:%d: %s", settings.dns_host,
                  settings.dns_port, exc)
        return None
