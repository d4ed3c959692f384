"""gateway/health.py: GET /healthcheck as oslo.middleware's healthcheck answers
it: OK, or 503 with the reasons (disable file, draining), in plain text, JSON
or HTML; HEAD 204 or 503; no database involved."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from gateway.asgi import PathRoutes
from gateway.health import Health, HealthcheckEndpoint, best_offer


async def _not_here(scope, receive, send):
    raise AssertionError("only /healthcheck is asked for")


def call(health: Health, method: str = "GET", **headers: str) -> httpx.Response:
    app = PathRoutes(_not_here, {"/healthcheck": HealthcheckEndpoint(health)})

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://node") as client:
            return await client.request(method, "/healthcheck", headers=headers)

    return asyncio.run(go())


def test_healthy_is_200_ok_in_plain_text():
    r = call(Health())
    assert (r.status_code, r.text) == (200, "OK")
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["cache-control"] == "no-store"


def test_head_is_204_when_healthy_and_503_when_not(tmp_path):
    assert call(Health(), "HEAD").status_code == 204
    (tmp_path / "off").touch()
    r = call(Health(tmp_path / "off"), "HEAD")
    assert (r.status_code, r.content) == (503, b"")


def test_json_as_oslo_answers_it(tmp_path):
    r = call(Health(), Accept="application/json")
    assert (r.status_code, r.json()) == (200, {"detailed": False, "reasons": ["OK"]})
    (tmp_path / "off").touch()
    r = call(Health(tmp_path / "off"), Accept="application/json")
    assert (r.status_code, r.json()) == (503, {"detailed": False,
                                               "reasons": ["DISABLED BY FILE"]})


def test_the_disable_file_counts_while_it_exists(tmp_path):
    health = Health(tmp_path / "disabled")
    assert call(health).status_code == 200
    (tmp_path / "disabled").write_text("maintenance\n")
    r = call(health)
    assert (r.status_code, r.text) == (503, "DISABLED BY FILE")
    (tmp_path / "disabled").unlink()
    assert call(health).status_code == 200


def test_draining_is_503_with_both_reasons(tmp_path):
    health = Health(tmp_path / "off")
    health.start_draining()
    assert call(health).text == "SHUTTING DOWN"
    (tmp_path / "off").touch()
    r = call(health, Accept="application/json")
    assert (r.status_code, r.json()["reasons"]) == (503, ["SHUTTING DOWN", "DISABLED BY FILE"])


def test_html_and_other_methods():
    r = call(Health(), Accept="text/html")
    assert r.headers["content-type"].startswith("text/html") and "<li>OK</li>" in r.text
    r = call(Health(), "POST")
    assert (r.status_code, r.headers["allow"]) == (405, "GET, HEAD")


@pytest.mark.parametrize(("accept", "offer"), [
    ("", "text/plain"), ("*/*", "text/plain"), ("application/json", "application/json"),
    ("text/html;q=0.5, application/json;q=0.9", "application/json"),
    ("application/*", "application/json"), ("image/png", "text/plain"),
    ("application/json;q=0, text/html", "text/html"),
])
def test_accept_negotiation(accept, offer):
    assert best_offer(accept) == offer
