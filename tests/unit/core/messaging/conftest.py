"""Fixtures for the message bus behaviour suite: one ``bus`` per transport."""

from __future__ import annotations

import pytest

from core.messaging import Bus
from tests.conftest import unique
from tests.unit.core.messaging import rabbit


@pytest.fixture(scope="session")
def rabbitmq_url():
    """A vhost of our own when rabbitmqctl works; else "/" (queue names are unique per test)."""
    with rabbit.broker_url() as url:
        yield url


@pytest.fixture(params=["memory", "sqla", "amqp"])
def transport_url(request, tmp_path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqla":
        return f"sqla+sqlite:///{tmp_path / 'bus.db'}"
    return request.getfixturevalue("rabbitmq_url")


@pytest.fixture
def bus(transport_url):
    """A bus in a namespace of its own; servers made with ``serving`` stop at teardown."""
    b = Bus(transport_url, namespace=unique("test"))
    yield b
    b.close()


@pytest.fixture
def serving(bus):
    """``serving(topic, name, endpoints)``: a started server, stopped after the test."""
    started = []

    def serve(topic: str, name: str, endpoints: object):
        server = bus.serve(topic, name, endpoints)
        server.start()
        started.append(server)
        return server

    yield serve
    for server in started:
        server.stop()
