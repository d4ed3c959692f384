"""gunicorn settings for an API node. Every value can be overridden from the
environment (GUNICORN_BIND, GUNICORN_WORKERS, ...) or the command line."""

import multiprocessing
import os
import re
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND",
                      f"{os.environ.get('NIMBUS_HOST', '127.0.0.1')}:"
                      f"{os.environ.get('NIMBUS_PORT', '8080')}")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
# connexion 3 is an ASGI framework; uvicorn's worker streams request bodies to
# the app without buffering them (image uploads) — see bench/ for the
# comparison. Ours adds draining on SIGTERM (gateway/worker.py).
worker_class = "gateway.worker.NimbusWorker"
# Longer than nginx's upstream keepalive_timeout (nginx/nginx.conf.template),
# so nginx never reuses a connection gunicorn is closing.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
# SIGTERM: the master stops accepting, the workers finish the requests in
# flight (after NIMBUS_DRAIN_DELAY, if set) and exit; those still running after
# this many seconds are killed. A supervisor's stop timeout must be longer.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Requests are logged by the application (structured, without query strings).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# Proxies on loopback (nginx) may set X-Forwarded-*.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn 27 opens a control socket in $HOME by default; several nodes started
# side by side (tests) must not fight over it.
control_socket_disable = True

# ---- Prometheus /metrics (gateway/metrics.py) in multiprocess mode ----------
# Each worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR and the
# worker answering /metrics adds up all of them. prometheus_client reads the
# variable when it is first imported, so it is set here, in the master, before
# any worker imports the app; a value from the environment wins. One directory
# per node (by bind address) unless the environment names one.
metrics_dir = Path(os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    str(Path(os.environ.get("NIMBUS_DATA_DIR", ".data")).resolve() / "prometheus"
        / re.sub(r"[^A-Za-z0-9._-]", "_", bind))))


def on_starting(server):
    """Start from an empty directory: samples of an earlier run would be added
    to this one's (counters restart at zero; Prometheus' rate() expects that)."""
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    """A worker died or was replaced: its live gauges (requests in progress)
    stop counting; its counters and histograms stay in the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(metrics_dir))
