"""DNS names derived from addresses and resource names, and parsed back.

EC2's aliases spell an IPv4 address with hyphens: the private name
``ip-10-0-0-5.<region>.compute.internal`` and the public name
``ec2-203-0-113-25.<public domain>``. Only the canonical spelling parses back
(``ip-10-0-0-05`` is not an alias of 10.0.0.5), so every address has one name.
"""

from __future__ import annotations

import ipaddress
import re

PRIVATE_SUFFIX = "compute.internal"
_LABEL_JUNK = re.compile(r"[^a-z0-9-]+")


def private_zone(region: str) -> str:
    """The zone of private aliases: ``<region>.compute.internal``."""
    return f"{region}.{PRIVATE_SUFFIX}"


def private_dns_name(address: str | None, region: str) -> str:
    """``ip-10-0-0-5.<region>.compute.internal``; empty without an address."""
    if not address:
        return ""
    return f"ip-{address.replace('.', '-')}.{private_zone(region)}"


def public_dns_name(address: str | None, domain: str) -> str:
    """``ec2-203-0-113-25.<domain>``; empty without an address."""
    if not address:
        return ""
    return f"ec2-{address.replace('.', '-')}.{domain}"


def address_in_label(label: str, prefix: str) -> str | None:
    """The IPv4 address a label such as ``ip-10-0-0-5`` (prefix ``ip``) spells, if it
    spells one canonically; otherwise None."""
    head, sep, rest = label.lower().partition("-")
    if head != prefix or not sep:
        return None
    dotted = rest.replace("-", ".")
    try:
        address = ipaddress.IPv4Address(dotted)
    except ValueError:
        return None
    return dotted if str(address) == dotted else None


def address_from_reverse(labels: tuple[str, ...]) -> str | None:
    """The IPv4 address of a full reverse name's labels (``5 0 0 10 in-addr arpa``)."""
    if len(labels) != 6 or tuple(x.lower() for x in labels[4:]) != ("in-addr", "arpa"):
        return None
    dotted = ".".join(reversed(labels[:4]))
    try:
        address = ipaddress.IPv4Address(dotted)
    except ValueError:
        return None
    return dotted if str(address) == dotted else None


def reverse_zone(network: str) -> str:
    """The reverse zone covering a network, widened to an octet boundary
    (10.0.0.0/22 → ``0.10.in-addr.arpa``)."""
    net = ipaddress.IPv4Network(network, strict=False)
    octets = str(net.network_address).split(".")[: net.prefixlen // 8]
    return ".".join([*reversed(octets), "in-addr", "arpa"])


def dns_label(name: str) -> str:
    """A resource name as one DNS label, the way Nova sanitises hostnames (lower
    case; runs of anything but letters, digits and hyphens become one hyphen;
    no leading or trailing hyphen; at most 63 characters). Empty if nothing is left."""
    text = _LABEL_JUNK.sub("-", name.lower().replace("_", "-"))
    return text.strip("-")[:63].rstrip("-")
