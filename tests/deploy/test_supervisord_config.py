"""deploy/supervisord.conf.template as deploy/stack.py renders it, read back by
supervisord's own config parser: one program per process, each restarted and
stopped as a group, agents without the database URL, settings passed through
unchanged, every path in the run directory."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from supervisor.datatypes import RestartUnconditionally
from supervisor.options import ServerOptions

from deploy.stack import BIN, ROOT, Topology
from deploy.supervised import StackError, env_line, render

DB_URL = "postgresql+psycopg2://s:pw@127.0.0.1:5432/s"
TRICKY = 'a%b,c "quoted" 100%'


def parsed(tmp_path: Path, **changes) -> tuple[ServerOptions, Topology]:
    top = Topology(run_dir=str(tmp_path), database_url=DB_URL,
                   transport_url="amqp://s:pw@127.0.0.1:5672/s", port=18080,
                   api_ports=[18091, 18092], agents=3, dns_port=18053,
                   settings={"NIMBUS_DRIVER_OPERATION_TIME": "0.5", "NIMBUS_X": TRICKY},
                   **changes)
    (tmp_path / "logs").mkdir()
    top.conf.write_text(render(top, ROOT, BIN))
    options = ServerOptions()
    options.realize(args=["-c", str(top.conf)])
    return options, top


def programs(options: ServerOptions) -> dict[str, tuple]:
    return {f"{g.name}:{p.name}" if g.name != p.name else p.name: (g, p)
            for g in options.process_group_configs for p in g.process_configs}


def test_one_program_per_process_in_stop_order(tmp_path):
    options, _ = parsed(tmp_path)
    found = programs(options)
    assert sorted(found) == [
        "agent:compute-01", "agent:compute-02", "agent:compute-03", "api:api-1",
        "api:api-2", "conductor:conductor-1", "conductor:conductor-2", "dns", "nginx",
        "scheduler:scheduler-1", "scheduler:scheduler-2", "volume-scheduler:volume-scheduler-1",
        "volume-scheduler:volume-scheduler-2", "volume:volume-1"]
    # supervisord stops the group of highest priority first: conductors last.
    order = [g.name for g in sorted(options.process_group_configs,
                                    key=lambda g: (-g.priority, g.name))]
    assert order == ["nginx", "api", "dns", "agent", "volume", "scheduler",
                     "volume-scheduler", "conductor"]
    commands = {name: p.command for name, (_, p) in found.items()}
    assert commands["api:api-2"].endswith("--bind 127.0.0.1:18092 wsgi:app")
    assert "--host compute-03 " in commands["agent:compute-03"]
    assert commands["nginx"].endswith("/nginx 18080 18091 18092")
    assert commands["dns"].endswith("--port 18053")
    assert commands["volume-scheduler:volume-scheduler-2"].endswith("-m core.volume.scheduler")
    assert commands["volume:volume-1"].endswith(
        "-m core.volume.agent --backend volume-1@simulated")


def test_every_process_restarts_and_stops_as_a_group(tmp_path):
    options, _ = parsed(tmp_path)
    for name, (_, p) in programs(options).items():
        assert p.autorestart is RestartUnconditionally, name
        assert p.startretries >= 3 and p.startsecs >= 1, name
        assert p.stopasgroup and p.killasgroup, name
        assert p.stopsignal == (signal.SIGQUIT if name == "nginx" else signal.SIGTERM)
        assert p.stopwaitsecs >= 10, name
        assert p.directory == str(ROOT)
    api = programs(options)["api:api-1"][1]
    assert api.stopwaitsecs > 30  # past gunicorn's graceful_timeout


def test_settings_reach_processes_and_agents_get_no_database(tmp_path):
    options, top = parsed(tmp_path)
    for name, (_, p) in programs(options).items():
        env = p.environment or {}
        if name == "nginx":
            assert env == {}
            continue
        assert env["NIMBUS_TRANSPORT_URL"] == top.transport_url, name
        assert env["NIMBUS_X"] == TRICKY, name  # %, comma and quotes come through
        if name.startswith(("agent:", "volume:")):
            assert "NIMBUS_DATABASE_URL" not in env, name
            assert env["NIMBUS_DATA_DIR"] == str(tmp_path / "agent-data")
        else:
            assert env["NIMBUS_DATABASE_URL"] == DB_URL, name
            assert env["NIMBUS_DATA_DIR"] == str(top.data_dir)
            assert env["NIMBUS_PUBLIC_URL"] == "http://127.0.0.1:18080"
    assert programs(options)["api:api-1"][1].environment["NIMBUS_RUN_CONTROL_PLANE"] == "false"


def test_every_path_is_in_the_run_directory(tmp_path):
    options, _ = parsed(tmp_path)
    assert Path(options.logfile).parent == tmp_path
    assert Path(options.pidfile).parent == tmp_path
    assert options.server_configs[0]["file"] == str(tmp_path / "supervisor.sock")
    assert options.server_configs[0]["chmod"] == 0o700
    for name, (_, p) in programs(options).items():
        assert Path(p.stdout_logfile) == tmp_path / "logs" / f"{name.split(':')[-1]}.log"


def test_values_supervisord_cannot_carry_are_refused():
    assert env_line({"A": "x'y"}) == '''A="x'y"'''
    with pytest.raises(StackError):
        env_line({"A": """both ' and " quotes"""})
    with pytest.raises(StackError):
        env_line({"A": "two\nlines"})
