"""JSON request bodies, read strictly before any handler sees them.

The standard library's ``json.loads`` reads what nothing behind it can keep:
integers of any size (a project's extra attribute of 2**64 was saved, then
every listing failed to encode it), ``NaN`` and ``Infinity``, which are not
JSON, escaped lone surrogates, which no UTF-8 column or encoder takes, and
nesting deeper than orjson encodes; an integer of more than 4,300 digits or
nesting a thousand deep raises something other than a decode error. Here each of those is a :class:`BadJson`: connexion's
body validator answers it with a 400 in the API's own error format, so nothing
is saved.
"""

from __future__ import annotations

import json
import math
import typing as t

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator
from starlette.types import Scope

from core.numbers import INT64_MIN, BadInteger, parse_int

# Far deeper than any API body; shallow enough for orjson (254 levels) to
# encode whatever was stored inside the answers that carry it.
MAX_DEPTH = 64


class BadJson(ValueError):
    """A body that is not JSON, or JSON with a value no store can keep."""


def _integer(text: str) -> int:
    try:
        return parse_int(text, INT64_MIN)
    except BadInteger:
        raise BadJson(f"The integer {text[:40]} is outside the signed 64-bit range.") \
            from None


def _real(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJson(f"The number {text[:40]} is too large.")
    return value


def _constant(name: str) -> t.NoReturn:
    raise BadJson(f"{name} is not a JSON value.")


def _check_values(value: t.Any) -> None:
    """Refuse strings with lone surrogates and nesting deeper than MAX_DEPTH."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise BadJson("A string holds an unpaired surrogate (\\ud800-\\udfff).") \
                    from None
        elif isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise BadJson(f"The JSON document is nested deeper than {MAX_DEPTH}.")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def parse_json_body(text: str | bytes) -> t.Any:
    """The JSON value ``text`` holds; :class:`BadJson` if it is not one that
    the services can store and the API can answer with."""
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_real,
                           parse_constant=_constant)
    except RecursionError:
        raise BadJson("The JSON document is nested too deeply.") from None
    except UnicodeDecodeError:
        raise BadJson("The JSON document is not valid UTF-8.") from None
    except BadJson:
        raise
    except ValueError as exc:  # json.JSONDecodeError is one
        raise BadJson(str(exc)) from None
    _check_values(value)
    return value


class StrictJSONRequestBodyValidator(JSONRequestBodyValidator):
    """connexion's JSON body validator, reading the body with :func:`parse_json_body`."""

    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> t.Any:
        body = b"".join([message async for message in stream]).decode(self._encoding)
        if not body:
            return None
        try:
            return parse_json_body(body)
        except BadJson as exc:
            raise BadRequestProblem(detail=str(exc)) from None


def request_validators() -> dict[str, t.Any]:
    """connexion's validator map, with JSON bodies read by the strict validator."""
    bodies = MediaTypeDict(VALIDATOR_MAP["body"])
    bodies["*/*json"] = StrictJSONRequestBodyValidator
    return {"body": bodies}
