"""``python -m core.conductor [--workers N]``: conductor servers on the shared queue."""

from __future__ import annotations

import argparse
import logging

from core.control_plane import ensure_address_pool, serve_conductors
from core.db import Database
from core.log import configure_logging
from core.messaging import Bus
from core.service_main import run_until_signalled
from core.settings import load_settings

log = logging.getLogger("core.conductor")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m core.conductor")
    parser.add_argument("--workers", type=int, default=4,
                        help="messages handled at once by this process")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_level)
    db = Database(settings.effective_database_url)
    from core.image.service import ImageService
    from core.image.stores import build_stores
    from core.policy import Enforcer
    from core.policy.defaults import all_defaults

    policy = Enforcer(all_defaults(), settings.effective_policy_file)
    images = ImageService(db, policy, build_stores(settings), settings.image_default_store,
                          settings.image_size_cap, settings.image_project_quota,
                          settings.import_ports)
    bus = Bus(settings.transport_url)
    ensure_address_pool(settings, db)
    servers = serve_conductors(settings, db, bus, images, args.workers)
    for server in servers:
        server.start()
    log.info("conductor serving with %d workers", args.workers)

    def stop() -> None:
        for server in servers:
            server.stop()
        bus.close()

    run_until_signalled(stop)


if __name__ == "__main__":
    main()
