"""deploy/systemd/: every unit passes ``systemd-analyze verify`` with no warning
(rendered with this checkout's paths, since verify checks that ExecStart's binary
exists), carries the restart, stop and hardening settings operators rely on, and
a broken unit is caught."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
SERVICES = sorted(p.name for p in UNITS.glob("*.service"))
# What verify loads: templates by an instance name.
INSTANCES = {"nimbus-conductor@.service": "nimbus-conductor@1.service",
             "nimbus-scheduler@.service": "nimbus-scheduler@1.service",
             "nimbus-agent@.service": "nimbus-agent@compute-01.service",
             "nimbus-volume-scheduler@.service": "nimbus-volume-scheduler@1.service",
             "nimbus-volume@.service": "nimbus-volume@lvm.service"}


def render(target: Path, edit=None) -> list[str]:
    """Copy the units into ``target`` with /opt/nimbus replaced by this checkout
    and its venv; ``edit(name, text)`` may change one. Returns the names to verify."""
    venv_bin = Path(sys.executable).parent
    for unit in [*UNITS.glob("*.service"), *UNITS.glob("*.target")]:
        text = unit.read_text().replace("/opt/nimbus/.venv/bin/", f"{venv_bin}/")
        text = text.replace("/opt/nimbus", str(ROOT))
        if edit is not None:
            text = edit(unit.name, text)
        (target / unit.name).write_text(text)
    return [INSTANCES.get(name, name) for name in SERVICES] + ["nimbus.target"]


def verify(target: Path, names: list[str]) -> list[str]:
    """``systemd-analyze verify``'s complaints: its exit status and every line it
    printed (unknown keys and bad values are only warnings)."""
    exe = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
    require_service(Path(exe).exists(), "systemd-analyze (Debian package systemd)")
    proc = subprocess.run([exe, "verify", "--man=no", *names], cwd=target,
                          capture_output=True, text=True, timeout=60)
    problems = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    if proc.returncode != 0:
        problems.append(f"exit status {proc.returncode}")
    return problems


def settings(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_units_verify_cleanly(tmp_path):
    names = render(tmp_path)
    assert verify(tmp_path, names) == []


@pytest.mark.parametrize("name,old,new", [
    ("nimbus-api.service", "/gunicorn ", "/no-such-gunicorn "),
    ("nimbus-conductor@.service", "Restart=on-failure", "Restrat=on-failure"),
    ("nimbus-scheduler@.service", "Restart=on-failure", "Restart=sometimes"),
    ("nimbus-agent@.service", "KillSignal=SIGTERM", "KillSignal=SIGNOPE"),
    ("nimbus-dns.service", "TimeoutStopSec=15", "TimeoutStopSec=soon"),
])
def test_a_broken_unit_is_caught(tmp_path, name, old, new):
    def edit(unit: str, text: str) -> str:
        if unit != name:
            return text
        assert old in text
        return text.replace(old, new)

    problems = verify(tmp_path, render(tmp_path, edit))
    assert problems, f"{name} with {new!r} passed verify"


@pytest.mark.parametrize("name", SERVICES)
def test_service_restarts_stops_and_is_hardened(name):
    found = settings((UNITS / name).read_text())
    one = {k: v[-1] for k, v in found.items()}
    assert one["EnvironmentFile"] == "/etc/nimbus/nimbus.env"
    assert one["User"] == one["Group"] == "nimbus"
    assert one["Restart"] == "on-failure" and float(one["RestartSec"]) > 0
    assert one["KillSignal"] == "SIGTERM" and int(one["TimeoutStopSec"]) >= 10
    for key in ("NoNewPrivileges", "PrivateTmp", "PrivateDevices", "ProtectHome",
                "ProtectKernelTunables", "ProtectControlGroups", "RestrictSUIDSGID"):
        assert one[key] == "yes", key
    assert one["ProtectSystem"] == "strict"
    assert one["ExecStart"].startswith("/opt/nimbus/.venv/bin/")
    assert one["WantedBy"] == "nimbus.target" and one["PartOf"] == "nimbus.target"
    if name in ("nimbus-agent@.service", "nimbus-volume@.service"):
        # The host (back end) is the instance name; the database URL never reaches
        # an agent.
        assert re.search(r"--(host|backend) %i\b", one["ExecStart"])
        assert one["UnsetEnvironment"] == "NIMBUS_DATABASE_URL"
        assert "StateDirectory" not in one
    if name == "nimbus-api.service":
        assert "NIMBUS_RUN_CONTROL_PLANE=false" in found["Environment"]
        assert one["KillMode"] == "mixed"  # gunicorn's master stops its workers
        assert int(one["TimeoutStopSec"]) > 30  # past gunicorn's graceful_timeout
