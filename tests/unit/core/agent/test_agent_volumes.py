"""The compute agent's side of volumes: it connects a reserved volume to the
guest and reports through the conductor with its host's connector; a failed
connection is reported as such; volumes mapped at boot are connected after the
spawn."""

from __future__ import annotations

from core.agent.manager import ComputeAgent, HostResources
from core.agent.virt import build_driver

FLAVOR = {"name": "m1.tiny", "vcpus": 1, "memory_mb": 512, "root_gb": 1}
ATTACHMENT = {"id": "att-1", "volume_id": "vol-1", "mountpoint": "/dev/vdb",
              "attach_mode": "rw"}


class Conductor:
    def __init__(self, attached_ok: bool = True) -> None:
        self.calls: list[tuple] = []
        self.attached_ok = attached_ok

    def volume_attached(self, uuid, attachment_id, host, connector, error=None):
        self.calls.append(("attached", uuid, attachment_id, host, connector, error))
        return {"ok": self.attached_ok and error is None}

    def volume_detached(self, uuid, attachment_id, host, error=None):
        self.calls.append(("detached", uuid, attachment_id, host, error))
        return {"ok": True}

    def instance_update(self, uuid, values, expected, host=None):
        return {"ok": True}

    def build_succeeded(self, uuid, host, power_state):
        self.calls.append(("built", uuid))
        return {"ok": True}


def agent(conductor) -> ComputeAgent:
    return ComputeAgent(HostResources("h1", 4, 4096, 40), build_driver("simulated", host="h1"),
                        bus=None, conductor=conductor, notifier=None)  # type: ignore[arg-type]


def instance(**kw):
    return {"uuid": "i-1", "name": "vm", "flavor": FLAVOR, **kw}


def test_attach_connects_and_reports_the_connector():
    conductor = Conductor()
    a = agent(conductor)
    a.driver.spawn(instance(), {})
    a.attach_volume(instance(), ATTACHMENT)
    (_, uuid, att, host, connector, error) = conductor.calls[0]
    assert (uuid, att, host, error) == ("i-1", "att-1", "h1", None)
    assert connector["host"] == "h1" and connector["mountpoint"] == "/dev/vdb"
    assert connector["initiator"].startswith("iqn.")
    assert a.driver.list_instances()[0].volumes == {"vol-1": "/dev/vdb"}
    a.detach_volume(instance(), ATTACHMENT)
    assert conductor.calls[-1] == ("detached", "i-1", "att-1", "h1", None)
    assert a.driver.list_instances()[0].volumes == {}


def test_a_failed_connection_is_reported():
    conductor = Conductor()
    a = agent(conductor)  # no such guest on the host: the driver fails
    a.attach_volume(instance(), ATTACHMENT)
    assert conductor.calls[0][-1] and "not on host" in conductor.calls[0][-1]


def test_an_attachment_gone_meanwhile_is_let_go():
    conductor = Conductor(attached_ok=False)
    a = agent(conductor)
    a.driver.spawn(instance(), {})
    a.attach_volume(instance(), ATTACHMENT)
    assert a.driver.list_instances()[0].volumes == {}


def test_volumes_mapped_at_boot_are_connected_after_the_spawn():
    conductor = Conductor()
    a = agent(conductor)
    root = dict(ATTACHMENT, id="att-root", volume_id="vol-root", mountpoint="/dev/vda")
    a.build_and_run_instance(instance(block_devices=[root]), {"name": "cirros"}, [])
    assert [c[0] for c in conductor.calls] == ["attached", "built"]
    assert a.driver.list_instances()[0].volumes == {"vol-root": "/dev/vda"}

