"""``python -m core.conductor [--workers N]``: conductor servers on the shared queue."""

from __future__ import annotations

import argparse
import logging

from core.conductor.wiring import serve_conductors, watch_builds
from core.log import configure_logging
from core.service_main import run_until_signalled
from core.services import build_core
from core.settings import load_settings

log = logging.getLogger("core.conductor")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m core.conductor")
    parser.add_argument("--workers", type=int, default=4,
                        help="messages handled at once by this process")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_level)
    core = build_core(settings, prepare_keys=False)  # it issues no tokens
    servers = serve_conductors(core, args.workers)
    for server in servers:
        server.start()
    watch = watch_builds(core).start()
    log.info("conductor serving with %d workers", args.workers)

    def stop() -> None:
        watch.stop()
        for server in servers:
            server.stop()
        core.bus.close()

    run_until_signalled(stop)


if __name__ == "__main__":
    main()
