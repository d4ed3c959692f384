"""The RabbitMQ on the CI machine (127.0.0.1:5672, guest/guest), one vhost per test session."""

from __future__ import annotations

import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

HOST, PORT = "127.0.0.1", 5672


def rabbitmq_available() -> bool:
    try:
        with socket.create_connection((HOST, PORT), timeout=1):
            return True
    except OSError:
        return False


def _rabbitmqctl(*args: str) -> bool:
    if shutil.which("rabbitmqctl") is None:
        return False
    try:
        proc = subprocess.run(["rabbitmqctl", *args], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def create_vhost() -> str | None:
    """A fresh vhost guest may use, or None when rabbitmqctl is not usable."""
    vhost = f"nimbus-test-{uuid.uuid4().hex[:10]}"
    if not _rabbitmqctl("add_vhost", vhost):
        return None
    if not _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"):
        _rabbitmqctl("delete_vhost", vhost)
        return None
    return vhost


def delete_vhost(vhost: str) -> None:
    _rabbitmqctl("delete_vhost", vhost)


def amqp_url(vhost: str | None) -> str:
    """The broker URL; without a vhost of our own, the default one ("/")."""
    return f"amqp://guest:guest@{HOST}:{PORT}/{vhost or ''}"


@contextmanager
def broker_url(own_vhost: bool = False) -> Iterator[str]:
    """The broker's URL on a vhost made for the caller and deleted afterwards (on "/"
    when rabbitmqctl is not usable, unless ``own_vhost``). A missing broker, or a
    missing vhost when ``own_vhost``, is a skip locally and a failure in CI."""
    from tests.conftest import require_service

    require_service(rabbitmq_available(), "RabbitMQ")
    vhost = create_vhost()
    if own_vhost:
        require_service(vhost is not None, "a RabbitMQ vhost of our own (rabbitmqctl)")
    try:
        yield amqp_url(vhost)
    finally:
        if vhost:
            delete_vhost(vhost)
