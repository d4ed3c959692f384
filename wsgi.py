"""The application object for gunicorn: ``gunicorn -c gunicorn.conf.py wsgi:app``.

connexion 3 is ASGI, so gunicorn runs it with uvicorn workers (see
gunicorn.conf.py and the README for why).
"""

from core.log import configure_logging
from core.settings import load_settings
from gateway.app import create_app

settings = load_settings()
configure_logging(settings.log_level)
app = create_app(settings)
