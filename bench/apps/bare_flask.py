"""Bare Flask (WSGI), served by gunicorn's gthread worker: the baseline."""

from flask import Flask

from bench.apps.trivial import PONG

app = Flask(__name__)


@app.get("/ping")
def ping():
    return PONG
