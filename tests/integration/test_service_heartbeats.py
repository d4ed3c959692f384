"""Conductors and schedulers in ``openstack compute service list``, as Nova
lists them: a conductor and a scheduler process (``python -m core.conductor``,
``python -m core.scheduler``) beat into the API node's database and show up
``nova-conductor`` and ``nova-scheduler``, zone ``internal``, enabled and up;
the scheduler stopped with SIGTERM exits 0 and is ``down`` once
``service_down_time`` has passed, while the conductor stays up."""

from __future__ import annotations

import time

import pytest

from tests.conftest import Cli
from tests.support.cluster import Cluster, clean_env
from tests.support.server import make_server

pytestmark = pytest.mark.integration

REPORT_INTERVAL, SERVICE_DOWN_TIME = 0.5, 3
CONTROLLER = "controller-1"


def listed(cli: Cli) -> dict[str, dict]:
    rows = cli.json("admin", "compute", "service", "list", "--host", CONTROLLER)
    return {r["Binary"]: r for r in rows}


def test_conductor_and_scheduler_appear_up_and_a_stopped_one_goes_down(tmp_path):
    data = tmp_path / "data"
    settings = {"report_interval": REPORT_INTERVAL, "service_down_time": SERVICE_DOWN_TIME}
    api = make_server(data, run_control_plane="false", **settings)
    api.bootstrap()
    api.start()
    # The API node's database (SQLite in its data directory) and the same
    # settings; a bus of their own (memory://): only the database matters here.
    env = clean_env(data_dir=data, service_host=CONTROLLER, shutdown_timeout=5,
                    bcrypt_rounds=4, **settings)
    cluster = Cluster(tmp_path / "logs", env, env)
    conductor = cluster.conductor("conductor", workers=1)
    scheduler = cluster.scheduler("scheduler")
    cli = Cli(api)
    try:
        cluster.start([conductor, scheduler])
        rows = listed(cli)
        assert set(rows) == {"nova-conductor", "nova-scheduler"}, rows
        for row in rows.values():
            assert (row["Host"], row["Zone"], row["Status"], row["State"]) == \
                (CONTROLLER, "internal", "enabled", "up"), row
            assert row["Updated At"]

        assert scheduler.stop() == 0
        stopped_at = time.monotonic()
        deadline = stopped_at + SERVICE_DOWN_TIME + 15
        while True:
            rows = listed(cli)
            if rows["nova-scheduler"]["State"] == "down":
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.5)
        # Down only once service_down_time has passed since its last beat.
        assert time.monotonic() - stopped_at >= SERVICE_DOWN_TIME - REPORT_INTERVAL - 1
        assert rows["nova-conductor"]["State"] == "up"
        assert any("stopped" in str(r.get("msg", "")) for r in scheduler.records())
    finally:
        codes = cluster.stop_all()
        api.stop()
    assert codes["conductor"] == 0, conductor.log_tail()
    assert "Traceback" not in conductor.log_tail(100_000)
