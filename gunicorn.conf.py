"""gunicorn settings for an API node. Every value can be overridden from the
environment (GUNICORN_BIND, GUNICORN_WORKERS, ...) or the command line."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND",
                      f"{os.environ.get('NIMBUS_HOST', '127.0.0.1')}:"
                      f"{os.environ.get('NIMBUS_PORT', '8080')}")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
# connexion 3 is an ASGI framework; this worker streams request bodies to the
# app without buffering them (image uploads) — see bench/ for the comparison.
worker_class = "uvicorn_worker.UvicornWorker"
# Longer than nginx's upstream keepalive_timeout (nginx/nginx.conf.template),
# so nginx never reuses a connection gunicorn is closing.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
# Requests are logged by the application (structured, without query strings).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# Proxies on loopback (nginx) may set X-Forwarded-*.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn 27 opens a control socket in $HOME by default; several nodes started
# side by side (tests) must not fight over it.
control_socket_disable = True
