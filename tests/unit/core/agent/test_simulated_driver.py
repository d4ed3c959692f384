"""The simulated hypervisor: the virt-driver contract, console logs, failure injection."""

import pytest

from core.agent.virt import DriverError, build_driver
from core.compute import states

FLAVOR = {"name": "m1.tiny", "vcpus": 1, "memory_mb": 512, "root_gb": 1}


def instance(uuid="u1"):
    return {"uuid": uuid, "name": "vm1", "hostname": "vm1", "flavor": FLAVOR}


def test_lifecycle_and_console():
    d = build_driver("simulated", host="h1")
    d.spawn(instance(), {"name": "cirros"})
    d.spawn(instance(), {"name": "cirros"})  # a duplicate request is harmless
    assert d.power_state("u1") == states.RUNNING
    d.power_off(instance())
    assert d.power_state("u1") == states.SHUTDOWN
    d.power_on(instance())
    d.reboot(instance(), hard=True)
    assert d.power_state("u1") == states.RUNNING
    log = d.console_output(instance())
    assert "Booting cirros on h1" in log and "vm1 login:" in log and "Hard reset" in log
    assert d.console_output(instance(), length=1).count("\n") == 1
    assert d.snapshot(instance()).startswith(b"NIMBUS-SIMULATED-DISK")
    d.resize(instance(), {"name": "m1.small", "vcpus": 2, "memory_mb": 2048, "root_gb": 20})
    assert d.list_instances()[0].vcpus == 2
    d.destroy(instance())
    d.destroy(instance())
    assert d.power_state("u1") == states.NOSTATE
    with pytest.raises(DriverError):
        d.power_on(instance())


def test_failure_injection():
    d = build_driver("simulated", host="h1", fail_next=1)
    with pytest.raises(DriverError):
        d.spawn(instance("a"), {})
    d.spawn(instance("b"), {})
    always = build_driver("simulated", host="h2", failure_rate=1.0)
    with pytest.raises(DriverError):
        always.spawn(instance("c"), {})


def test_unknown_driver():
    with pytest.raises(ValueError):
        build_driver("xen")
