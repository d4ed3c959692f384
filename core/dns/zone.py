"""The zones the responder is authoritative for, and the answer to each question.

Four kinds of name, each in a zone of its own (the longest zone that holds a
name decides it):

- ``<region>.compute.internal``: ``ip-10-0-0-5`` → A 10.0.0.5 while a live
  instance holds that fixed address;
- ``<ec2_public_domain>``: ``ec2-203-0-113-25`` → A while that floating address is
  associated with a live instance (other names fall through to an enclosing
  server zone, so a nested public domain hides no project);
- ``<dns_domain>``: ``<hostname>.<project>`` → A, the server's fixed addresses;
- the reverse zones of the fixed and floating ranges (each widened to an octet
  boundary): ``5.0.0.10.in-addr.arpa`` → PTR to the private alias,
  ``25.113.0.203.in-addr.arpa`` → PTR to the public one.

Names in these zones that hold nothing are NXDOMAIN; names that exist but have
no data of the asked type are NOERROR with no answer; both carry the zone's SOA
in the authority section (its minimum is the TTL, for negative caching). Names
outside every zone are REFUSED: this is no recursive resolver.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from core.dns.names import (
    address_from_reverse,
    address_in_label,
    private_dns_name,
    private_zone,
    public_dns_name,
    reverse_zone,
)
from core.dns.records import RecordSource
from core.settings import Settings

_VALID_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
ARPA = dns.name.from_text("in-addr.arpa")
A, PTR, SOA, ANY = (dns.rdatatype.A, dns.rdatatype.PTR, dns.rdatatype.SOA,
                    dns.rdatatype.ANY)


@dataclass
class Answer:
    """What to put in a response: rcode, answer and authority sections, and
    whether it is authoritative (AA)."""

    rcode: dns.rcode.Rcode
    answer: list[dns.rrset.RRset] = field(default_factory=list)
    authority: list[dns.rrset.RRset] = field(default_factory=list)
    authoritative: bool = True


@dataclass(frozen=True)
class _Found:
    """A name that exists, with its records (A addresses or a PTR target)."""

    addresses: tuple[str, ...] = ()
    pointer: str | None = None


_MISSING = None  # a name in the zone that holds nothing (NXDOMAIN)


class Zones:
    """Answers questions about EC2 aliases and server names from a ``RecordSource``."""

    def __init__(self, records: RecordSource, *, region: str, ec2_public_domain: str,
                 dns_domain: str, fixed_range: str, floating_range: str,
                 ttl: int = 30) -> None:
        self.records = records
        self.region = region
        self.ec2_public_domain = ec2_public_domain
        self.ttl = ttl
        self.private = dns.name.from_text(private_zone(region))
        self.public = dns.name.from_text(ec2_public_domain)
        self.servers = dns.name.from_text(dns_domain)
        self.fixed_network = ipaddress.IPv4Network(fixed_range, strict=False)
        self.floating_network = ipaddress.IPv4Network(floating_range, strict=False)
        # the longest first: a name belongs to the most specific zone holding it
        self.reverse_zones = sorted({dns.name.from_text(reverse_zone(fixed_range)),
                                     dns.name.from_text(reverse_zone(floating_range))},
                                    key=len, reverse=True)

    # ---- public -----------------------------------------------------------
    def resolve(self, qname: dns.name.Name, qtype: int) -> Answer:
        """The answer to one IN-class question."""
        if qname.is_subdomain(ARPA):
            return self._reverse(qname, qtype)
        zones = sorted([("private", self.private), ("public", self.public),
                        ("servers", self.servers)], key=lambda kz: len(kz[1]), reverse=True)
        for kind, zone in zones:
            if not qname.is_subdomain(zone):
                continue
            labels = _labels(qname.relativize(zone))
            found: _Found | None | bool
            if kind == "private":
                found = self._private(labels)
            elif kind == "public":
                found = self._public(labels)
                if found is False and qname.is_subdomain(self.servers):
                    continue  # not an alias's shape: the enclosing server zone decides
            else:
                found = self._server(labels)
            return self._answer(zone, qname, qtype, found, apex=labels == ())
        return Answer(dns.rcode.REFUSED, authoritative=False)

    # ---- forward zones ----------------------------------------------------
    def _private(self, labels: tuple[str, ...] | None) -> _Found | None:
        if labels == ():
            return _Found()
        if labels is None or len(labels) != 1:
            return _MISSING
        address = address_in_label(labels[0], "ip")
        if address and self.records.fixed_ip_in_use(address):
            return _Found(addresses=(address,))
        return _MISSING

    def _public(self, labels: tuple[str, ...] | None) -> _Found | None | bool:
        """Like ``_private``; False for a name that is not an alias's shape."""
        if labels == ():
            return _Found()
        if labels is None or len(labels) != 1 or not labels[0].startswith("ec2-"):
            return False
        address = address_in_label(labels[0], "ec2")
        if address and self.records.floating_ip_in_use(address):
            return _Found(addresses=(address,))
        return _MISSING

    def _server(self, labels: tuple[str, ...] | None) -> _Found | None:
        if labels == ():
            return _Found()
        if labels is None:
            return _MISSING
        projects = self.records.projects_labelled(labels[-1])
        if not projects:
            return _MISSING
        if len(labels) == 1:
            return _Found()  # the project's own name: it exists, with no records
        addresses = self.records.server_addresses(projects, ".".join(labels[:-1]))
        return _MISSING if addresses is None else _Found(addresses=tuple(addresses))

    # ---- reverse zones ----------------------------------------------------
    def _reverse(self, qname: dns.name.Name, qtype: int) -> Answer:
        zone = next((z for z in self.reverse_zones if qname.is_subdomain(z)), None)
        labels = _labels(qname)
        address = address_from_reverse(labels) if labels else None
        if zone is None:
            # An address of a subnet outside the two ranges (a network a project
            # made): answered, from its /24's zone, while a port holds it.
            found = self._pointer(address) if address else _MISSING
            if found is _MISSING:
                return Answer(dns.rcode.REFUSED, authoritative=False)
            zone = dns.name.from_text(reverse_zone(f"{address}/24"))
            return self._answer(zone, qname, qtype, found)
        if address is None:
            return self._answer(zone, qname, qtype, self._reverse_branch(qname),
                                apex=qname == zone)
        return self._answer(zone, qname, qtype, self._pointer(address))

    def _pointer(self, address: str) -> _Found | None:
        """The name of a fixed address a server's port holds, or of a floating
        address mapped to one."""
        if self.records.fixed_ip_in_use(address):
            return _Found(pointer=private_dns_name(address, self.region))
        if self.records.floating_ip_in_use(address):
            return _Found(pointer=public_dns_name(address, self.ec2_public_domain))
        return _MISSING

    def _reverse_branch(self, qname: dns.name.Name) -> _Found | None:
        """A partial reverse name (``0.0.10.in-addr.arpa``) exists, empty, when
        addresses of the fixed or floating range lie below it: resolvers that
        minimise their queries walk down through it."""
        labels = _labels(qname.relativize(ARPA))
        if not labels or len(labels) >= 4 or not all(x.isdigit() for x in labels):
            return _MISSING
        octets = [int(x) for x in reversed(labels)]
        if any(o > 255 for o in octets) or any(str(o) != x
                                              for o, x in zip(octets, reversed(labels),
                                                              strict=True)):
            return _MISSING
        branch = ipaddress.IPv4Network(
            (".".join(map(str, octets + [0] * (4 - len(octets)))), 8 * len(octets)))
        ours = (self.fixed_network, self.floating_network)
        return _Found() if any(branch.overlaps(net) for net in ours) else _MISSING

    # ---- rendering --------------------------------------------------------
    def _answer(self, zone: dns.name.Name, qname: dns.name.Name, qtype: int,
                found: _Found | None | bool, apex: bool = False) -> Answer:
        if not isinstance(found, _Found):
            return Answer(dns.rcode.NXDOMAIN, authority=[self._soa(zone)])
        answer: list[dns.rrset.RRset] = []
        if apex and qtype in (SOA, ANY):
            answer.append(self._soa(zone))
        if found.addresses and qtype in (A, ANY):
            answer.append(dns.rrset.from_text_list(qname, self.ttl, "IN", "A",
                                                   list(found.addresses)))
        if found.pointer and qtype in (PTR, ANY):
            answer.append(dns.rrset.from_text(qname, self.ttl, "IN", "PTR",
                                              found.pointer.rstrip(".") + "."))
        if answer:
            return Answer(dns.rcode.NOERROR, answer=answer)
        return Answer(dns.rcode.NOERROR, authority=[self._soa(zone)])

    def _soa(self, zone: dns.name.Name) -> dns.rrset.RRset:
        apex = zone.to_text()
        return dns.rrset.from_text(zone, self.ttl, "IN", "SOA",
                                   f"ns.{apex} hostmaster.{apex} 1 3600 600 86400 {self.ttl}")


def _labels(name: dns.name.Name) -> tuple[str, ...] | None:
    """A relative name's labels in lower case; None if one is not a valid
    host-name label (such a name can hold nothing here)."""
    out = []
    for raw in name.labels:
        if raw == b"":
            continue  # the root label of an absolute name
        try:
            label = raw.decode("ascii").lower()
        except UnicodeDecodeError:
            return None
        if not _VALID_LABEL.fullmatch(label):
            return None
        out.append(label)
    return tuple(out)


def zones_for(settings: Settings, records: RecordSource) -> Zones:
    """The zones as the settings configure them."""
    return Zones(records, region=settings.region,
                 ec2_public_domain=settings.ec2_public_domain,
                 dns_domain=settings.dns_domain, fixed_range=settings.fixed_range,
                 floating_range=settings.floating_range, ttl=settings.dns_ttl)
