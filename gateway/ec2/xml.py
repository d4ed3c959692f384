"""EC2 answers as XML, shaped by botocore's EC2 service model.

A handler returns a plain dict keyed by the output shape's member names (the
names boto3 shows: ``{"KeyPairs": [{"KeyName": ...}]}``); this module writes
it under the wire names the model gives (``<keySet><item><keyName>``):

- root ``<ActionResponse xmlns="http://ec2.amazonaws.com/doc/<Version>/">``
  with the request's ``Version`` and a ``<requestId>``; no Result wrapper;
- list members as ``<item>``; an empty list as ``<name/>`` (boto3 then shows
  ``[]``), a ``None`` value not at all — only elements with values are sent;
- timestamps ISO 8601 UTC with milliseconds and ``Z``, booleans ``true`` /
  ``false``, blobs base64;
- ``<return>true</return>`` for actions without output.

Strings are written as fast string joins (no DOM): listing answers are where
the time goes. The items of the big lists (instances) are kept once written,
keyed by their value as compact JSON (every value they are made of, types
told apart), so an unchanged instance is written once, not per call.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from botocore.model import OperationModel, ServiceModel, Shape

from gateway.fragments import FragmentCache

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
NAMESPACE = "http://ec2.amazonaws.com/doc/{version}/"
# Characters XML 1.0 cannot carry at all; they are dropped.
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SPECIAL = re.compile("[&<>\r\"\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Structures written once per distinct value (list items of the big answers).
CACHED_SHAPES = frozenset({"Instance"})
MAX_CACHED = 4_000  # about 4 KB each with its key
_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;",
                           '"': "&quot;"})


def escape(text: str) -> str:
    """``text`` as XML character data (or an attribute value)."""
    if not _SPECIAL.search(text):
        return text
    return _INVALID.sub("", text).translate(_ENTITIES)


def iso8601(value: datetime) -> str:
    """``2024-01-01T00:00:00.000Z``: UTC, milliseconds, as EC2 writes times."""
    utc = value.astimezone(UTC) if value.tzinfo else value
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


class XmlRenderer:
    """Writes output shapes of one service model; compiled per shape once."""

    def __init__(self, model: ServiceModel) -> None:
        self.model = model
        # shape name -> member name -> (element name, member shape)
        self._members: dict[str, dict[str, tuple[str, Shape]]] = {}
        self._written: FragmentCache[str] = FragmentCache(MAX_CACHED)

    def response(self, operation: OperationModel, result: Mapping[str, Any] | None,
                 request_id: str, version: str) -> bytes:
        """The whole answer to one call of ``operation``."""
        root = f"{operation.name}Response"
        out = [XML_DECLARATION, f'<{root} xmlns="{escape(NAMESPACE.format(version=version))}">',
               f"<requestId>{escape(request_id)}</requestId>"]
        shape = operation.output_shape
        if shape is None or (not result and list(shape.members) == ["Return"]):
            out.append("<return>true</return>")
        elif result:
            self._structure(out, shape, result)
        out.append(f"</{root}>")
        return "".join(out).encode()

    def _compiled(self, shape: Shape) -> dict[str, tuple[str, Shape]]:
        members = self._members.get(shape.name)
        if members is None:
            members = {name: (member.serialization.get("name", name), member)
                       for name, member in shape.members.items()}  # type: ignore[attr-defined]
            self._members[shape.name] = members
        return members

    def _structure(self, out: list[str], shape: Shape, value: Mapping[str, Any]) -> None:
        members = self._compiled(shape)
        for key, item in value.items():
            if item is None:
                continue
            try:
                element, member = members[key]
            except KeyError:
                raise ValueError(f"{key!r} is not a member of {shape.name}") from None
            if member.type_name == "list" and not item:
                out.append(f"<{element}/>")
                continue
            out.append(f"<{element}>")
            self._value(out, member, item)
            out.append(f"</{element}>")

    def _value(self, out: list[str], shape: Shape, value: Any) -> None:
        kind = shape.type_name
        if kind == "string":
            out.append(escape(value if isinstance(value, str) else str(value)))
        elif kind == "structure":
            if shape.name in CACHED_SHAPES:
                self._cached_structure(out, shape, value)
            else:
                self._structure(out, shape, value)
        elif kind == "list":
            member = shape.member  # type: ignore[attr-defined]
            for item in value:
                if item is None:
                    continue
                out.append("<item>")
                self._value(out, member, item)
                out.append("</item>")
        elif kind == "boolean":
            out.append("true" if value else "false")
        elif kind in ("integer", "long"):
            out.append(str(int(value)))
        elif kind in ("double", "float"):
            out.append(repr(float(value)))
        elif kind == "timestamp":
            out.append(iso8601(value) if isinstance(value, datetime) else escape(str(value)))
        elif kind == "blob":
            raw = value.encode() if isinstance(value, str) else bytes(value)
            out.append(base64.b64encode(raw).decode())
        else:  # maps do not occur in EC2 output shapes
            raise ValueError(f"cannot render a {kind} ({shape.name})")

    def _cached_structure(self, out: list[str], shape: Shape, value: Mapping[str, Any]) -> None:
        """``_structure``, kept by the value's compact JSON. A value JSON cannot
        carry exactly (datetimes, sets, bytes) is written afresh every time."""
        try:
            key = (shape.name, orjson.dumps(value, option=orjson.OPT_PASSTHROUGH_DATETIME
                                            | orjson.OPT_PASSTHROUGH_DATACLASS))
        except TypeError:
            self._structure(out, shape, value)
            return
        text = self._written.get(key)
        if text is None:
            part: list[str] = []
            self._structure(part, shape, value)
            text = "".join(part)
            self._written.put(key, text)
        out.append(text)
