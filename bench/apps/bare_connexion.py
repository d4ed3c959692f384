"""connexion AsyncApp (ASGI) serving trivial.yaml: the peer the Identity
API is measured against (gunicorn + uvicorn worker, like wsgi.py)."""

from pathlib import Path

import connexion
from connexion.options import SwaggerUIOptions

app = connexion.AsyncApp(__name__, specification_dir=str(Path(__file__).parent))
app.add_api("trivial.yaml", swagger_ui_options=SwaggerUIOptions(swagger_ui=False))
