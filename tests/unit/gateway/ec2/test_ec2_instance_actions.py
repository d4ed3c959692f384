"""The pure parts of the lifecycle handlers: states after a resize and a
delete, RunInstances' request digest (what makes a ClientToken retry the same
request), TagSpecifications, and the one attribute a ModifyInstanceAttribute
changes."""

from __future__ import annotations

import pytest

from core.compute import states
from core.compute.models import Instance
from core.context import RequestContext
from gateway.ec2.api import Call
from gateway.ec2.errors import Ec2Error
from gateway.ec2.handlers.instance_actions import InstanceActions, change, request_hash
from gateway.ec2.handlers.instances import state_of


@pytest.mark.parametrize(("power", "expected"), [
    (states.SHUTDOWN, (80, "stopped")), (states.RUNNING, (16, "running"))])
def test_a_resized_instance_keeps_its_power_state(power, expected):
    inst = Instance(vm_state=states.RESIZED, task_state=None, power_state=power)
    assert state_of(inst) == expected


def test_a_deleted_instance_is_terminated_whatever_its_states_say():
    inst = Instance(vm_state=states.ACTIVE, task_state=None, deleted=True)
    assert state_of(inst) == (48, "terminated")


def test_request_hash_ignores_the_token_and_dry_run_only():
    base = {"ImageId": "ami-1", "MinCount": 1, "MaxCount": 2,
            "TagSpecifications": [{"ResourceType": "instance",
                                   "Tags": [{"Key": "Name", "Value": "a"}]}]}
    digest = request_hash(base)
    assert request_hash({**base, "ClientToken": "t", "DryRun": False}) == digest
    assert request_hash(dict(reversed(list(base.items())))) == digest
    assert request_hash({**base, "MaxCount": 3}) != digest
    assert request_hash({**base, "InstanceType": "t3.micro"}) != digest


def test_tags_name_the_server_and_fill_its_metadata():
    name, metadata = InstanceActions._tags([{"ResourceType": "instance", "Tags": [
        {"Key": "Name", "Value": "web"}, {"Key": "team", "Value": "blue"},
        {"Key": "empty"}]}])
    assert (name, metadata) == ("web", {"team": "blue", "empty": ""})
    assert InstanceActions._tags([]) == ("", {})


@pytest.mark.parametrize("spec", [
    {"ResourceType": "volume", "Tags": [{"Key": "a", "Value": "b"}]},
    {"ResourceType": "instance", "Tags": [{"Key": "aws:cloudformation", "Value": "b"}]},
    {"ResourceType": "instance", "Tags": [{"Key": "", "Value": "b"}]},
])
def test_bad_tag_specifications(spec):
    with pytest.raises(Ec2Error) as info:
        InstanceActions._tags([spec])
    assert info.value.code == "InvalidParameterValue"


def _call(**params) -> Call:
    return Call(RequestContext(), "ModifyInstanceAttribute", params, "req-1")


def test_modify_takes_one_attribute_in_either_form():
    assert InstanceActions._changes(_call(InstanceType={"Value": "t3.small"})) == \
        {"instanceType": "t3.small"}
    assert InstanceActions._changes(_call(Attribute="instanceType", Value="t3.small")) == \
        {"instanceType": "t3.small"}
    assert InstanceActions._changes(_call(DisableApiTermination={"Value": True})) == \
        {"disableApiTermination": "true"}
    for params in ({}, {"InstanceType": {"Value": "a"}, "Attribute": "kernel", "Value": "k"}):
        with pytest.raises(Ec2Error) as info:
            InstanceActions._changes(_call(**params))
        assert info.value.code == "InvalidParameterCombination"


def test_state_change_shape():
    assert change("i-1", (16, "running"), (64, "stopping")) == {
        "InstanceId": "i-1", "CurrentState": {"Code": 64, "Name": "stopping"},
        "PreviousState": {"Code": 16, "Name": "running"}}
