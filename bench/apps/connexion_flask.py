"""connexion FlaskApp: Flask behind connexion's WSGI→ASGI bridge, served by
gunicorn + uvicorn worker."""

from pathlib import Path

import connexion
from connexion.options import SwaggerUIOptions

app = connexion.FlaskApp(__name__, specification_dir=str(Path(__file__).parent))
app.add_api("trivial.yaml", swagger_ui_options=SwaggerUIOptions(swagger_ui=False))
