"""The application object for gunicorn: ``gunicorn -c gunicorn.conf.py wsgi:app``.

connexion 3 is ASGI, so gunicorn runs it with uvicorn workers (see
gunicorn.conf.py and the README for why). With ``NIMBUS_RUN_CONTROL_PLANE``
(the all-in-one default) the worker also runs the conductor, the scheduler and
the simulated compute hosts as threads; that needs a single worker when the
message bus is in-process (``memory://``).
"""

import atexit

from core.log import configure_logging
from core.services import build_core
from core.settings import load_settings
from gateway.app import create_app
from gateway.log_filters import log_client_errors_at_info

settings = load_settings()
configure_logging(settings.log_level)
log_client_errors_at_info()
core = build_core(settings)
app = create_app(settings, core)

if settings.run_control_plane:
    from core.control_plane import ControlPlane

    control_plane = ControlPlane(core).start()
    atexit.register(control_plane.stop)

if settings.run_dns:
    from core.dns.service import start_in_process

    dns_responder = start_in_process(settings, core.db)
    if dns_responder is not None:
        atexit.register(dns_responder.stop)
