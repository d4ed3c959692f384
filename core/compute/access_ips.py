"""A server's access addresses (accessIPv4 / accessIPv6) as Nova stores them."""

from __future__ import annotations

import ipaddress

from core import errors


def canonical_ipv6(text: str | None) -> str | None:
    """An IPv6 address as Nova stores and shows it: RFC 5952 text, so
    ``0000:0000:0000:0000:0000:babe:220.12.22.2`` reads ``::babe:dc0c:1602``."""
    if not text:
        return None
    try:
        return ipaddress.IPv6Address(text).compressed
    except ValueError:
        raise errors.InvalidInput(f"Invalid input for field/attribute accessIPv6. Value: "
                                  f"{text}. '{text}' is not a 'ipv6'",
                                  param="accessIPv6") from None
