"""The instance lifecycle: RunInstances, Start/Stop/Reboot/TerminateInstances,
GetConsoleOutput and Describe/ModifyInstanceAttribute, on the servers the
compute API manages.

Actions on several instances are all or nothing, as AWS has them: every ID is
looked up and every state checked before the first instance is touched, and
the error names the offending ID. A server's lock is EC2's
``disableApiTermination`` (and ``disableApiStop``). RunInstances' ClientToken
is kept on the instances with a digest of the request (``ServerService.create``
replays it); changing the instance type is Nova's resize, confirmed at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from core import errors
from core.clock import utcnow
from core.compute import states
from core.compute.models import Instance
from core.compute.servers import BootRequest
from core.context import RequestContext
from core.idmap.ids import Kind
from gateway.ec2.api import Call, action
from gateway.ec2.errors import Ec2Error
from gateway.ec2.handlers.base import Ec2Deps, Handler
from gateway.ec2.handlers.instances import (
    PENDING,
    RUNNING,
    SERVERS_SHOW,
    SHUTTING_DOWN,
    STOPPED,
    STOPPING,
    TERMINATED,
    Instances,
    state_of,
    state_wire,
)
from gateway.ec2.handlers.run_block_devices import block_devices
from gateway.ec2.handlers.run_networks import RunNetworks
from gateway.ec2.handlers.volume_views import instance_block_devices

CREATE = "os_compute_api:servers:create"
START = "os_compute_api:servers:start"
STOP = "os_compute_api:servers:stop"
REBOOT = "os_compute_api:servers:reboot"
DELETE = "os_compute_api:servers:delete"
RESIZE = "os_compute_api:servers:resize"
CONSOLE = "os_compute_api:os-console-output"
MAX_CLIENT_TOKEN = 64
DEFAULT_INSTANCE_TYPE = "m1.small"  # AWS's default when none is given
# Parameters that do not make a request different (for ClientToken replays).
NOT_HASHED = frozenset({"ClientToken", "DryRun"})
def _devices(inst: Instance, handler: InstanceActions
             ) -> tuple[list[dict[str, Any]], str | None]:
    """The instance's volumes and its root volume's device name."""
    return instance_block_devices(handler.deps, [inst]).get(inst.uuid) or ([], None)


# DescribeInstanceAttribute: attribute name -> output member and its value.
Reader = Callable[[Instance, "InstanceActions"], Any]
ATTRIBUTES: Mapping[str, tuple[str, Reader]] = {
    "instanceType": ("InstanceType", lambda i, h: {"Value": (i.flavor or {}).get("name")}),
    "userData": ("UserData", lambda i, h: {"Value": i.user_data} if i.user_data else {}),
    "disableApiTermination": ("DisableApiTermination", lambda i, h: {"Value": bool(i.locked)}),
    "disableApiStop": ("DisableApiStop", lambda i, h: {"Value": bool(i.locked)}),
    "kernel": ("KernelId", lambda i, h: {}),
    "ramdisk": ("RamdiskId", lambda i, h: {}),
    "rootDeviceName": ("RootDeviceName",
                       lambda i, h: {"Value": _devices(i, h)[1] or "/dev/sda1"}),
    "instanceInitiatedShutdownBehavior": ("InstanceInitiatedShutdownBehavior",
                                          lambda i, h: {"Value": "stop"}),
    "groupSet": ("Groups", lambda i, h: h.views.security_groups([i])[i.uuid]),
    "sourceDestCheck": ("SourceDestCheck", lambda i, h: {"Value": True}),
    "ebsOptimized": ("EbsOptimized", lambda i, h: {"Value": False}),
    "enaSupport": ("EnaSupport", lambda i, h: {"Value": False}),
    "sriovNetSupport": ("SriovNetSupport", lambda i, h: {}),
    "blockDeviceMapping": ("BlockDeviceMappings", lambda i, h: _devices(i, h)[0]),
    "productCodes": ("ProductCodes", lambda i, h: []),
    "enclaveOptions": ("EnclaveOptions", lambda i, h: {"Enabled": False}),
}


def request_hash(params: Mapping[str, Any]) -> str:
    """A digest of a RunInstances request, its token and DryRun left out."""
    kept = {k: v for k, v in params.items() if k not in NOT_HASHED}
    text = json.dumps(kept, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


PAUSED_OR_SUSPENDED = (states.PAUSED_VM, states.SUSPENDED_VM)


def incorrect_state(instance_id: str, verb: str) -> Ec2Error:
    return Ec2Error("IncorrectInstanceState", f"The instance '{instance_id}' is not in a "
                                              f"state from which it can be {verb}.")


def change(instance_id: str, before: tuple[int, str], after: tuple[int, str]
           ) -> dict[str, Any]:
    """One InstanceStateChange."""
    return {"InstanceId": instance_id, "CurrentState": state_wire(after),
            "PreviousState": state_wire(before)}


class InstanceActions(Handler):
    def __init__(self, deps: Ec2Deps) -> None:
        super().__init__(deps)
        self.views: Instances = Instances(deps)
        self.networks = RunNetworks(deps)

    # ---- RunInstances ----------------------------------------------------
    @action("RunInstances", rules=(CREATE,))
    def run_instances(self, call: Call) -> dict[str, Any]:
        """A translation of the parameters into a boot request: the compute
        service checks the image, instance type, key pair, zone and groups
        (their errors carry the kind and id the error table names)."""
        ctx = call.ctx
        min_count, max_count = call.get("MinCount"), call.get("MaxCount")
        for name, value in (("minCount", min_count), ("maxCount", max_count)):
            if value < 1:
                raise Ec2Error("InvalidParameterValue", f"Value ({value}) for parameter "
                                                        f"{name} is invalid. Expected a "
                                                        "positive integer.")
        if min_count > max_count:
            raise Ec2Error("InvalidParameterValue", f"MinCount ({min_count}) must not be "
                                                    f"greater than MaxCount ({max_count}).")
        token = call.get("ClientToken")
        if token is not None and not (len(token) <= MAX_CLIENT_TOKEN and token.isascii()):
            raise Ec2Error("InvalidParameterValue", "The client token must be at most "
                                                    f"{MAX_CLIENT_TOKEN} ASCII characters.")
        image_id = call.get("ImageId")
        if not image_id:
            raise Ec2Error("MissingParameter", "The request must contain the parameter "
                                               "ImageId")
        name, metadata = self._tags(call.get("TagSpecifications", []))
        boot = self.networks.of(call)
        image_uuid = self.os_id(Kind.IMAGE, image_id)
        req = BootRequest(
            name=name, image_ref=image_uuid,
            flavor_ref=call.get("InstanceType") or DEFAULT_INSTANCE_TYPE,
            flavor_by_name=True, key_name=call.get("KeyName") or None, metadata=metadata,
            user_data=self._user_data(call.get("UserData")),
            availability_zone=self._zone((call.get("Placement") or {})
                                         .get("AvailabilityZone")),
            min_count=min_count, max_count=max_count,
            security_groups=boot.groups or self._groups(call.get("SecurityGroups", []),
                                                        call.get("SecurityGroupIds", [])),
            networks=boot.networks,
            client_token=token or None, request_hash=request_hash(call.params),
            ec2_names=True, block_devices=block_devices(
                self, ctx, call.get("BlockDeviceMappings", []), image_uuid))
        reservation_id, instances = self.deps.servers.create(ctx, req)
        where = self.networks.names.default() if boot.networks == "default" else None
        return self.views.reservation(ctx, reservation_id, instances, where)

    def flavor_named(self, ctx: RequestContext, name: str) -> str:
        """The id of the flavor (instance type) ``name`` the caller may boot."""
        flavor = self.deps.flavors.find_by_name(ctx, name)
        if flavor.disabled:
            raise errors.NotFound(f"Flavor {name} could not be found.", kind="flavor",
                                  id=name, by="name")
        return flavor.flavorid

    @staticmethod
    def _user_data(data: str | None) -> str | None:
        if not data:
            return None
        try:
            base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            raise Ec2Error("InvalidParameterValue",
                           "Invalid BASE64 encoding of user data.") from None
        return data

    @staticmethod
    def _zone(zone: str | None) -> str | None:
        """The zone asked for (the compute service checks it exists); Nova's
        ``zone:host`` form is not EC2's."""
        if zone and ":" in zone:
            raise Ec2Error("InvalidParameterValue", f"Invalid availability zone: [{zone}]")
        return zone or None

    def _groups(self, names: Sequence[str], group_ids: Sequence[str]) -> list[str]:
        """Security groups by name, and those named by ``sg-`` ID as Nova takes
        them too (by id); the compute service checks that they exist."""
        out = list(dict.fromkeys(names))
        if group_ids:
            out.extend(self.os_ids(Kind.SECURITY_GROUP, group_ids).values())
        return out or ["default"]

    @staticmethod
    def _tags(specs: Sequence[Mapping[str, Any]]) -> tuple[str, dict[str, str]]:
        """The Name tag (the server's name) and the other tags (its metadata)."""
        metadata: dict[str, str] = {}
        for spec in specs:
            kind = spec.get("ResourceType")
            if kind != "instance":
                raise Ec2Error("InvalidParameterValue",
                               f"'{kind}' is not a valid taggable resource type for this "
                               "operation.")
            for tag in spec.get("Tags") or []:
                key, value = tag.get("Key") or "", tag.get("Value") or ""
                if not key or key.lower().startswith("aws:"):
                    raise Ec2Error("InvalidParameterValue",
                                   f"Tag key '{key}' is invalid: keys are 1-128 characters "
                                   "and may not start with 'aws:'.")
                metadata[key] = value
        return metadata.pop("Name", ""), metadata

    # ---- Start / Stop / Reboot / Terminate ----------------------------------
    def _targets(self, call: Call) -> list[tuple[Instance, str, tuple[int, str]]]:
        found = self.views.find(call.ctx, call.get("InstanceIds", []))
        ids = self.views.ec2_ids(found)
        return [(inst, ids[inst.uuid], state_of(inst)) for inst in found]

    @action("StartInstances", rules=(START,))
    def start_instances(self, call: Call) -> dict[str, Any]:
        targets = self._targets(call)
        for inst, ec2_id, state in targets:
            # A paused or suspended server shows as stopped, but only unpause /
            # resume (the OpenStack API's) bring it back.
            if state not in (RUNNING, STOPPED) or inst.vm_state in PAUSED_OR_SUSPENDED:
                raise incorrect_state(ec2_id, "started")
        out = []
        for inst, ec2_id, state in targets:
            if state == STOPPED:
                self.deps.server_actions.settle_resize(call.ctx, inst.uuid)
                self.deps.server_actions.start(call.ctx, inst.uuid)
                out.append(change(ec2_id, state, PENDING))
            else:
                out.append(change(ec2_id, state, state))
        return {"StartingInstances": out}

    @action("StopInstances", rules=(STOP,))
    def stop_instances(self, call: Call) -> dict[str, Any]:
        targets = self._targets(call)
        for inst, ec2_id, state in targets:
            if state == PENDING and inst.vm_state == states.BUILDING:
                raise Ec2Error("IncorrectInstanceState", f"Instance '{ec2_id}' cannot be "
                                                         "stopped as it has never reached "
                                                         "the 'running' state.")
            if state not in (RUNNING, STOPPING, STOPPED):
                raise incorrect_state(ec2_id, "stopped")
            if state == RUNNING and inst.locked:
                raise Ec2Error("OperationNotPermitted",
                               f"The instance '{ec2_id}' may not be stopped. Modify its "
                               "'disableApiStop' instance attribute and try again.")
        out = []
        for inst, ec2_id, state in targets:
            if state == RUNNING:
                self.deps.server_actions.stop(call.ctx, inst.uuid)
                out.append(change(ec2_id, state, STOPPING))
            else:
                out.append(change(ec2_id, state, state))
        return {"StoppingInstances": out}

    @action("RebootInstances", rules=(REBOOT,))
    def reboot_instances(self, call: Call) -> None:
        targets = self._targets(call)
        for inst, ec2_id, state in targets:
            if state != RUNNING or inst.vm_state == states.RESCUED:
                raise incorrect_state(ec2_id, "rebooted")
        for inst, _ec2_id, _state in targets:
            if inst.task_state not in (states.REBOOTING, states.REBOOTING_HARD):
                self.deps.server_actions.reboot(call.ctx, inst.uuid, hard=False)

    @action("TerminateInstances", rules=(DELETE,))
    def terminate_instances(self, call: Call) -> dict[str, Any]:
        targets = self._targets(call)
        for inst, ec2_id, _state in targets:
            if inst.locked and not inst.deleted:
                raise Ec2Error("OperationNotPermitted",
                               f"The instance '{ec2_id}' may not be terminated. Modify its "
                               "'disableApiTermination' instance attribute and try again.")
        out = []
        for inst, ec2_id, state in targets:
            if inst.deleted:
                out.append(change(ec2_id, state, state))
                continue
            try:
                self.deps.servers.delete(call.ctx, inst.uuid)
            except errors.NotFound:  # deleted meanwhile: what was asked for
                out.append(change(ec2_id, state, TERMINATED))
                continue
            after = TERMINATED if state == TERMINATED else SHUTTING_DOWN
            out.append(change(ec2_id, state, after))
        return {"TerminatingInstances": out}

    # ---- GetConsoleOutput --------------------------------------------------
    @action("GetConsoleOutput", rules=(CONSOLE,))
    def get_console_output(self, call: Call) -> dict[str, Any]:
        (inst,) = self.views.find(call.ctx, [call.get("InstanceId", "")])
        ec2_id = self.views.ec2_ids([inst])[inst.uuid]
        answer: dict[str, Any] = {"InstanceId": ec2_id, "Timestamp": utcnow()}
        if inst.deleted:
            return answer
        try:
            text = self.deps.server_actions.console_output(call.ctx, inst.uuid, None)
        except errors.Conflict:
            return answer  # not booted yet (or gone): AWS answers without output
        answer["Output"] = base64.b64encode(text.encode()).decode()
        return answer

    # ---- Describe / ModifyInstanceAttribute -------------------------------------
    @action("DescribeInstanceAttribute", rules=(SERVERS_SHOW,))
    def describe_instance_attribute(self, call: Call) -> dict[str, Any]:
        attribute = call.get("Attribute", "")
        if attribute not in ATTRIBUTES:
            raise Ec2Error("InvalidParameterValue", f"Value ({attribute}) for parameter "
                                                    "attribute is invalid. Unknown attribute.")
        (inst,) = self.views.find(call.ctx, [call.get("InstanceId", "")])
        member, read = ATTRIBUTES[attribute]
        return {"InstanceId": self.views.ec2_ids([inst])[inst.uuid],
                member: read(inst, self)}

    @action("ModifyInstanceAttribute", rules=(RESIZE,))
    def modify_instance_attribute(self, call: Call) -> None:
        changes = self._changes(call)
        (inst,) = self.views.find(call.ctx, [call.get("InstanceId", "")])
        ec2_id = self.views.ec2_ids([inst])[inst.uuid]
        ((attribute, value),) = changes.items()
        if attribute in ("disableApiTermination", "disableApiStop"):
            self._lock(call.ctx, inst, value.lower() == "true")
        elif attribute == "instanceType":
            self._resize(call.ctx, inst, ec2_id, value)
        else:
            raise Ec2Error("UnsupportedOperation",
                           f"Modifying the {attribute} attribute is not supported by this "
                           "cloud.")

    @staticmethod
    def _changes(call: Call) -> dict[str, str]:
        """The one attribute a ModifyInstanceAttribute changes, by wire name."""
        members = {"InstanceType": "instanceType", "UserData": "userData",
                   "DisableApiTermination": "disableApiTermination",
                   "DisableApiStop": "disableApiStop", "Kernel": "kernel",
                   "Ramdisk": "ramdisk", "SourceDestCheck": "sourceDestCheck",
                   "EbsOptimized": "ebsOptimized", "EnaSupport": "enaSupport",
                   "SriovNetSupport": "sriovNetSupport", "Groups": "groupSet",
                   "BlockDeviceMappings": "blockDeviceMapping",
                   "InstanceInitiatedShutdownBehavior": "instanceInitiatedShutdownBehavior"}
        changes: dict[str, str] = {}
        for member, wire in members.items():
            given = call.params.get(member)
            if given is None:
                continue
            value = given.get("Value") if isinstance(given, Mapping) else given
            changes[wire] = str(value).lower() if isinstance(value, bool) else str(value)
        if call.get("Attribute"):
            changes[call.get("Attribute")] = str(call.get("Value", ""))
        if len(changes) != 1:
            raise Ec2Error("InvalidParameterCombination",
                           "Exactly one attribute must be modified in one request.")
        return changes

    def _lock(self, ctx: RequestContext, inst: Instance, locked: bool) -> None:
        if locked:
            self.deps.server_actions.lock(ctx, inst.uuid, "EC2 disableApiTermination")
        elif inst.locked:
            self.deps.server_actions.unlock(ctx, inst.uuid)

    def _resize(self, ctx: RequestContext, inst: Instance, ec2_id: str, type_name: str) -> None:
        flavor_id = self.flavor_named(ctx, type_name)
        if state_of(inst) != STOPPED or inst.task_state is not None:
            raise Ec2Error("IncorrectInstanceState",
                           f"The instance '{ec2_id}' is not in the 'stopped' state.")
        actions = self.deps.server_actions
        actions.settle_resize(ctx, inst.uuid)
        if flavor_id == actions.store.get(inst.uuid).flavorid:
            return  # already of that type
        actions.resize_confirmed(ctx, inst.uuid, flavor_id)
