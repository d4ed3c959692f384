"""``python -m core.dns [--host H] [--port P]``: the DNS responder on its own,
answering from the database the API uses until SIGTERM / SIGINT."""

from __future__ import annotations

import argparse
import logging

from core.db import Database
from core.dns.service import dns_server
from core.log import configure_logging
from core.service_main import run_until_signalled
from core.settings import load_settings

log = logging.getLogger("core.dns")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m core.dns", description=__doc__)
    parser.add_argument("--host", help="listen address (default: NIMBUS_DNS_HOST)")
    parser.add_argument("--port", type=int, help="UDP and TCP port (default: NIMBUS_DNS_PORT)")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_level)
    db = Database.from_settings(settings)
    server = dns_server(settings, db, args.host, args.port).start()

    def stop() -> None:
        server.stop()
        db.dispose()
        log.info("DNS responder stopped")

    run_until_signalled(stop)


if __name__ == "__main__":
    main()
