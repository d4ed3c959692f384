"""The EC2 Query protocol: ``Action=…&Version=…&Foo.1.Bar=…`` in, typed values out.

Parameters are read by botocore's EC2 service model, the mirror image of
botocore's ``EC2Serializer``: a member's wire name is its ``queryName``, else
its ``locationName`` with the first letter upper-cased, else its name; list
members are ``Name.N`` (1-based, no ``.member``); structures nest with
dots. Values are typed by their shape (booleans, integers within the model's
bounds, ISO 8601 timestamps, base64 blobs), and the result is keyed by member
names, as boto3 names them: ``Filter.1.Value.2=x`` becomes
``{"Filters": [{"Values": [..., "x"]}]}``.

Anything else is a client error, never a 500: an unknown action is
``InvalidAction``, an unknown parameter ``UnknownParameter``, a bad value
``InvalidParameterValue``, a missing required one ``MissingParameter``.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from botocore.model import OperationModel, ServiceModel, Shape

from core.clock import parse_timestamp
from core.numbers import INT64_MAX, INT64_MIN, BadInteger, is_ascii_digits, parse_int
from gateway.ec2.errors import Ec2Error

MAX_BODY = 1 << 20  # bytes; RunInstances' UserData (16 KB) fits many times over
MAX_PARAMETERS = 10_000
MAX_LIST_INDEX = 100_000
DEFAULT_VERSION = "2016-11-15"
FORM = "application/x-www-form-urlencoded"
# Parameters that authenticate a request rather than describe the call.
AUTH_PARAMETERS = frozenset({"AWSAccessKeyId", "Signature", "SignatureMethod",
                             "SignatureVersion", "Timestamp", "Expires", "SecurityToken"})
_VERSION = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INTEGER = re.compile(r"[+-]?[0-9]+")
# A float as AWS writes one, in ASCII (float() reads "٥", "1_0" and " 5 " too).
_REAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_SCALARS = frozenset({"string", "integer", "long", "boolean", "timestamp", "blob", "float",
                      "double"})


@dataclass(frozen=True)
class HttpRequest:
    """The parts of an HTTP request the EC2 edge reads. ``path`` and ``query``
    are as sent (percent-encoded); header names are lower case."""

    method: str
    host: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes = b""

    @property
    def is_form(self) -> bool:
        return self.headers.get("content-type", "").split(";")[0].strip().lower() == FORM

    def parameters(self) -> list[tuple[str, str]]:
        """Query string parameters, then those of a form-encoded body."""
        pairs = _pairs(self.query)
        if self.method == "POST" and self.is_form and self.body:
            try:
                text = self.body.decode("utf-8")
            except UnicodeDecodeError:
                raise Ec2Error("InvalidParameterValue",
                               "The request body is not valid UTF-8.") from None
            pairs += _pairs(text, MAX_PARAMETERS - len(pairs))
        return pairs


def _pairs(text: str, limit: int = MAX_PARAMETERS) -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict",
                         max_num_fields=max(limit, 0))
    except UnicodeDecodeError:
        raise Ec2Error("InvalidParameterValue",
                       "The request parameters are not valid UTF-8.") from None
    except ValueError:
        raise Ec2Error("InvalidParameterValue",
                       f"A request may carry at most {MAX_PARAMETERS} parameters.") from None


def is_auth_parameter(name: str) -> bool:
    return name in AUTH_PARAMETERS or name.startswith("X-Amz-")


@dataclass(frozen=True)
class QueryCall:
    """One parsed call: the action, the version to answer in, typed parameters."""

    operation: OperationModel
    version: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def action(self) -> str:
        return self.operation.name


@dataclass(frozen=True)
class _Member:
    name: str
    shape: Shape
    wire: str


def _wire_name(name: str, shape: Shape) -> str:
    serialization = shape.serialization
    if "queryName" in serialization:
        return str(serialization["queryName"])
    if "name" in serialization:
        location = str(serialization["name"])
        return location[:1].upper() + location[1:]
    return name


class QueryProtocol:
    """Parses calls for one service model; compiled per shape on first use."""

    def __init__(self, model: ServiceModel) -> None:
        self.model = model
        self.actions = frozenset(model.operation_names)
        self._structures: dict[str, dict[str, _Member]] = {}

    def parse(self, pairs: Sequence[tuple[str, str]]) -> QueryCall:
        """The call ``pairs`` (parameter name, value) describe."""
        action = version = None
        rest: list[tuple[str, str]] = []
        for key, value in pairs:
            if key == "Action":
                action = value
            elif key == "Version":
                version = value
            elif not is_auth_parameter(key):
                rest.append((key, value))
        if not action:
            raise Ec2Error("MissingAction", "The request must contain the parameter Action.")
        if action not in self.actions:
            raise Ec2Error("InvalidAction",
                           f"The action {action} is not valid for this web service.")
        version = version or DEFAULT_VERSION
        if not _VERSION.fullmatch(version):
            raise Ec2Error("NoSuchVersion", f"The requested version ({version}) of service "
                                            "AmazonEC2 does not exist.")
        operation = self.model.operation_model(action)
        tree: dict[str, Any] = {}
        shape = operation.input_shape
        if shape is None:
            if rest:
                raise _unknown(rest[0][0])
        else:
            for key, value in rest:
                self._place(tree, shape, key, value)
            tree = self._finish(tree, shape, "")
        return QueryCall(operation, version, tree)

    # ---- placing each parameter in the tree ------------------------------
    def _members(self, shape: Shape) -> dict[str, _Member]:
        members = self._structures.get(shape.name)
        if members is None:
            members = {}
            for name, member in shape.members.items():  # type: ignore[attr-defined]
                wire = _wire_name(name, member)
                members[wire] = _Member(name, member, wire)
            self._structures[shape.name] = members
        return members

    def _place(self, tree: dict[Any, Any], shape: Shape, key: str, value: str) -> None:
        """Store ``value`` at ``key``'s place. Structures and lists are dicts
        while parsing (lists keyed by index), scalars typed values."""
        node: dict[Any, Any] = tree
        segments = key.split(".")
        last = len(segments) - 1
        for i, segment in enumerate(segments):
            slot: Any
            if shape.type_name == "structure":
                member = self._members(shape).get(segment)
                if member is None:
                    raise _unknown(key)
                slot, shape = member.name, member.shape
            elif shape.type_name == "list":
                slot = _list_index(segment, key)
                shape = shape.member  # type: ignore[attr-defined]
            else:  # a scalar cannot have parts; maps do not occur in EC2 input
                raise _unknown(key)
            if i == last:
                if shape.type_name not in _SCALARS:
                    raise _unknown(key)
                if slot in node:
                    raise Ec2Error("InvalidParameterValue",
                                   f"The parameter {key} is given more than once.")
                node[slot] = _scalar(shape, value, key)
                return
            child = node.setdefault(slot, {})
            if not isinstance(child, dict):  # pragma: no cover - shapes rule it out
                raise _unknown(key)
            node = child

    def _finish(self, node: dict[Any, Any], shape: Shape, prefix: str) -> Any:
        """Turn index-keyed dicts into lists and check required members."""
        if shape.type_name == "list":
            member = shape.member  # type: ignore[attr-defined]
            items = [node[i] for i in sorted(node)]
            if member.type_name not in _SCALARS:
                items = [self._finish(item, member, f"{prefix}.{i}")
                         for i, item in zip(sorted(node), items, strict=True)]
            limit = shape.metadata.get("max")
            if limit is not None and len(items) > limit:
                raise Ec2Error("InvalidParameterValue",
                               f"The parameter {prefix} takes at most {limit} values.")
            return items
        members = self._members(shape)
        for member in members.values():
            if member.name in node and member.shape.type_name not in _SCALARS:
                node[member.name] = self._finish(node[member.name], member.shape,
                                                 _join(prefix, member.wire))
        for required in shape.required_members:  # type: ignore[attr-defined]
            if required not in node:
                wire = next(m.wire for m in members.values() if m.name == required)
                raise Ec2Error("MissingParameter", "The request must contain the parameter "
                                                   f"{_join(prefix, wire)}.")
        return node


def _list_index(segment: str, key: str) -> int:
    """N of ``Name.N``: 1 to MAX_LIST_INDEX in ASCII digits, no leading zero."""
    if segment[:1] == "0":
        raise _unknown(key)
    try:
        return parse_int(segment, 1, MAX_LIST_INDEX)
    except BadInteger:
        raise _unknown(key) from None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _unknown(key: str) -> Ec2Error:
    shown = key if len(key) <= 100 else key[:100] + "..."
    return Ec2Error("UnknownParameter", f"The parameter {shown} is not recognized.")


def _invalid(key: str, value: str, expected: str) -> Ec2Error:
    shown = value if len(value) <= 100 else value[:100] + "..."
    return Ec2Error("InvalidParameterValue",
                    f"Value ({shown}) for parameter {key} is invalid. {expected}")


def _scalar(shape: Shape, value: str, key: str) -> Any:
    kind = shape.type_name
    if kind == "string":
        return value
    if kind == "boolean":
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise _invalid(key, value, "Expecting true or false.")
        return lowered == "true"
    if kind in ("integer", "long"):
        if not _INTEGER.fullmatch(value):
            raise _invalid(key, value, "Expecting an integer.")
        low = shape.metadata.get("min", -(2**31) if kind == "integer" else INT64_MIN)
        high = shape.metadata.get("max", 2**31 - 1 if kind == "integer" else INT64_MAX)
        try:
            number: int | None = parse_int(value, INT64_MIN)
        except BadInteger:  # wider than 64 bits
            number = None
        if number is None or not low <= number <= high:
            raise _invalid(key, value, f"Expecting a value between {low} and {high}.")
        return number
    if kind in ("float", "double"):
        real = float(value) if _REAL.fullmatch(value) else math.nan
        if not math.isfinite(real):
            raise _invalid(key, value, "Expecting a number.")
        return real
    if kind == "timestamp":
        return _timestamp(value, key)
    if kind == "blob":
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _invalid(key, value, "Expecting base64-encoded data.") from None
    raise _unknown(key)  # pragma: no cover - _SCALARS lists the kinds above


def _timestamp(value: str, key: str) -> datetime:
    if is_ascii_digits(value):
        try:
            return datetime.fromtimestamp(int(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise _invalid(key, value, "Expecting an ISO 8601 timestamp.") from None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise _invalid(key, value, "Expecting an ISO 8601 timestamp.") from None
