"""``MaxResults`` / ``NextToken`` as AWS pages describe answers.

The token is opaque to clients: the sort key of the last item sent, encoded.
A page holds at most ``MaxResults`` items; ``nextToken`` is left out on the
last page (botocore's paginators stop on a missing token). A token that does
not decode is ``InvalidPaginationToken``. The model's bounds on MaxResults are
checked when the request is parsed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import TypeVar

from gateway.ec2.errors import Ec2Error

T = TypeVar("T")


def encode_token(after: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode()


def decode_token(token: str) -> str:
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))["after"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError, RecursionError):
        raise Ec2Error("InvalidPaginationToken",
                       f"The pagination token '{token[:100]}' is not valid.") from None
    if not isinstance(after, str):
        raise Ec2Error("InvalidPaginationToken",
                       f"The pagination token '{token[:100]}' is not valid.")
    return after


def page(items: Sequence[T], key: Callable[[T], str], max_results: int | None,
         next_token: str | None) -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted by ``key``, keys unique) and the token of
    the next, or None if this is the last."""
    rest = list(items)
    if next_token:
        after = decode_token(next_token)
        rest = [item for item in rest if key(item) > after]
    if max_results is None or len(rest) <= max_results:
        return rest, None
    chunk = rest[:max_results]
    return chunk, encode_token(key(chunk[-1]))


def reject_ids_with_max_results(ids: Sequence[str] | None, max_results: int | None,
                                ids_wire_name: str) -> None:
    """AWS refuses IDs and MaxResults together in one request."""
    if ids and max_results is not None:
        raise Ec2Error("InvalidParameterCombination",
                       f"The parameter {ids_wire_name} cannot be used with the parameter "
                       "maxResults")
