"""core/dns/zone.py over core/dns/records.py on a real (SQLite) database: which
names exist, what they answer, and the negative answers' codes and SOA."""

from __future__ import annotations

import dns.name
import dns.rcode
import dns.rdatatype
import pytest

from core.compute.models import Instance
from core.db import Database
from core.db.migrate import upgrade
from core.dns.records import DatabaseRecords
from core.dns.zone import Zones
from core.identity.models import Domain, Project
from tests.support.network import ensure_networks, give_floating_ip, give_port

A, PTR, AAAA, SOA, ANY, MX = (dns.rdatatype.A, dns.rdatatype.PTR, dns.rdatatype.AAAA,
                              dns.rdatatype.SOA, dns.rdatatype.ANY, dns.rdatatype.MX)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('dns') / 'nimbus.db'}")
    upgrade(database)
    with database.session() as s:
        s.add(Domain(id="default", name="Default"))
        s.add(Project(id="p-web", name="Web Team", domain_id="default"))
        s.add(Project(id="p-ops", name="ops", domain_id="default"))
        s.flush()
        servers = [  # uuid, project, display name, stored hostname, deleted, address
            ("u-1", "p-web", "Front_1", "front-1", False, "10.0.0.5"),
            ("u-2", "p-web", "db", "db", False, "10.0.0.6"),
            ("u-3", "p-web", "db", "db", False, "10.0.0.7"),       # same name twice
            ("u-4", "p-web", "Legacy Box", None, False, "10.0.0.8"),  # no stored hostname
            ("u-5", "p-web", "gone", "gone", True, None),
            ("u-6", "p-ops", "front-1", "front-1", False, "10.0.0.9"),
            ("u-7", "p-ops", "building", "building", False, None),
            ("u-8", "p-ops", "a.b", "a.b", False, "10.0.1.1"),
        ]
        for uuid, project, name, host, deleted, _ in servers:
            s.add(Instance(uuid=uuid, display_name=name, hostname=host, project_id=project,
                           user_id="u", flavor={}, flavorid="1", vcpus=1, memory_mb=64,
                           root_gb=1, deleted=deleted, reservation_id="r"))
        s.flush()
    ensure_networks(database, fixed_range="10.0.0.0/22", floating_range="203.0.113.0/24")
    for uuid, project, *_rest, address in servers:
        if address:
            give_port(database, uuid, address, project)
    # 10.0.0.10 is held by a deleted instance's leftover port: not live.
    give_port(database, "u-5", "10.0.0.10", "p-web")
    for address, instance in (("203.0.113.25", "u-1"), ("203.0.113.26", None),
                              ("203.0.113.27", "u-5")):  # 203.0.113.28 is free
        give_floating_ip(database, address, "p-web", instance)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def zones(db) -> Zones:
    return Zones(DatabaseRecords(db), region="RegionOne",
                 ec2_public_domain="compute.nimbus.test", dns_domain="nimbus.test",
                 fixed_range="10.0.0.0/22", floating_range="203.0.113.0/24", ttl=30)


def ask(zones: Zones, name: str, qtype=A):
    return zones.resolve(dns.name.from_text(name), qtype)


def records(answer) -> list[str]:
    return sorted(r.to_text() for rrset in answer.answer for r in rrset)


def soa_zone(answer) -> str:
    [rrset] = answer.authority
    assert rrset.rdtype == SOA and rrset.ttl == 30
    assert rrset[0].minimum == 30
    return rrset.name.to_text()


def test_private_alias_of_a_live_instances_address(zones):
    answer = ask(zones, "ip-10-0-0-5.regionone.compute.internal")
    assert answer.rcode == dns.rcode.NOERROR and answer.authoritative
    assert records(answer) == ["10.0.0.5"]
    assert answer.answer[0].ttl == 30 and not answer.authority


def test_private_alias_is_case_insensitive(zones):
    assert records(ask(zones, "IP-10-0-0-5.RegionOne.Compute.Internal")) == ["10.0.0.5"]


@pytest.mark.parametrize("name", [
    "ip-10-0-0-10.regionone.compute.internal",  # held by a deleted instance
    "ip-10-0-0-99.regionone.compute.internal",  # free
    "ip-10-0-0-05.regionone.compute.internal",  # not canonical
    "www.regionone.compute.internal",
    "x.ip-10-0-0-5.regionone.compute.internal",
    "under_score.regionone.compute.internal",
])
def test_unknown_private_names_are_nxdomain_with_the_zone_soa(zones, name):
    answer = ask(zones, name)
    assert answer.rcode == dns.rcode.NXDOMAIN and answer.authoritative
    assert not answer.answer
    assert soa_zone(answer) == "RegionOne.compute.internal."


def test_other_types_of_an_existing_name_are_nodata(zones):
    for qtype in (AAAA, MX, PTR):
        answer = ask(zones, "ip-10-0-0-5.regionone.compute.internal", qtype)
        assert answer.rcode == dns.rcode.NOERROR and not answer.answer
        assert soa_zone(answer) == "RegionOne.compute.internal."
    assert records(ask(zones, "ip-10-0-0-5.regionone.compute.internal", ANY)) == ["10.0.0.5"]


def test_zone_apex_answers_soa(zones):
    answer = ask(zones, "regionone.compute.internal", SOA)
    assert answer.rcode == dns.rcode.NOERROR
    assert answer.answer[0].rdtype == SOA
    answer = ask(zones, "nimbus.test", A)
    assert answer.rcode == dns.rcode.NOERROR and not answer.answer
    assert soa_zone(answer) == "nimbus.test."


def test_server_names_under_their_project(zones):
    assert records(ask(zones, "front-1.web-team.nimbus.test")) == ["10.0.0.5"]
    assert records(ask(zones, "FRONT-1.ops.NIMBUS.test")) == ["10.0.0.9"]
    assert records(ask(zones, "db.web-team.nimbus.test")) == ["10.0.0.6", "10.0.0.7"]
    # no stored hostname: the display name sanitised as Nova does
    assert records(ask(zones, "legacy-box.web-team.nimbus.test")) == ["10.0.0.8"]
    # a hostname with a dot spans two labels
    assert records(ask(zones, "a.b.ops.nimbus.test")) == ["10.0.1.1"]


def test_a_server_without_an_address_yet_exists_with_no_records(zones):
    answer = ask(zones, "building.ops.nimbus.test")
    assert answer.rcode == dns.rcode.NOERROR and not answer.answer
    assert soa_zone(answer) == "nimbus.test."


def test_a_project_name_exists_with_no_records(zones):
    answer = ask(zones, "web-team.nimbus.test")
    assert answer.rcode == dns.rcode.NOERROR and not answer.answer


@pytest.mark.parametrize("name", [
    "gone.web-team.nimbus.test",       # deleted
    "front-1.nobody.nimbus.test",      # no such project
    "nobody.nimbus.test",
    "db.ops.nimbus.test",              # another project's server
    "legacy.web-team.nimbus.test",
])
def test_unknown_server_names_are_nxdomain(zones, name):
    answer = ask(zones, name)
    assert answer.rcode == dns.rcode.NXDOMAIN
    assert soa_zone(answer) == "nimbus.test."


def test_public_alias_of_an_associated_floating_address(zones):
    answer = ask(zones, "ec2-203-0-113-25.compute.nimbus.test")
    assert answer.rcode == dns.rcode.NOERROR and records(answer) == ["203.0.113.25"]
    assert records(ask(zones, "EC2-203-0-113-25.Compute.Nimbus.Test")) == ["203.0.113.25"]


@pytest.mark.parametrize("name", [
    "ec2-203-0-113-26.compute.nimbus.test",  # allocated, not associated
    "ec2-203-0-113-27.compute.nimbus.test",  # associated with a deleted instance
    "ec2-203-0-113-28.compute.nimbus.test",  # free
    "ec2-10-0-0-5.compute.nimbus.test",      # a fixed address
    "ec2-203-0-113-025.compute.nimbus.test",
])
def test_other_public_aliases_are_nxdomain_in_their_zone(zones, name):
    answer = ask(zones, name)
    assert answer.rcode == dns.rcode.NXDOMAIN
    assert soa_zone(answer) == "compute.nimbus.test."


def test_ptr_of_an_associated_floating_address(zones):
    answer = ask(zones, "25.113.0.203.in-addr.arpa", PTR)
    assert answer.rcode == dns.rcode.NOERROR
    assert records(answer) == ["ec2-203-0-113-25.compute.nimbus.test."]
    for other in ("26", "27", "28", "200"):
        answer = ask(zones, f"{other}.113.0.203.in-addr.arpa", PTR)
        assert answer.rcode == dns.rcode.NXDOMAIN
        assert soa_zone(answer) == "113.0.203.in-addr.arpa."
    assert ask(zones, "113.0.203.in-addr.arpa", SOA).answer[0].rdtype == SOA


def test_a_nested_public_domain_hides_no_project(db):
    with db.session() as s:
        s.add(Project(id="p-compute", name="compute", domain_id="default"))
        s.add(Instance(uuid="u-c", display_name="web", hostname="web", project_id="p-compute",
                       user_id="u", flavor={}, flavorid="1", vcpus=1, memory_mb=64,
                       root_gb=1, reservation_id="r"))
    give_port(db, "u-c", "10.0.2.2", "p-compute")
    zones = Zones(DatabaseRecords(db), region="RegionOne",
                  ec2_public_domain="compute.nimbus.test", dns_domain="nimbus.test",
                  fixed_range="10.0.0.0/22", floating_range="203.0.113.0/24")
    assert records(ask(zones, "web.compute.nimbus.test")) == ["10.0.2.2"]
    assert ask(zones, "ec2-1-2-3-4.compute.nimbus.test").rcode == dns.rcode.NXDOMAIN


def test_ptr_of_a_live_fixed_address(zones):
    answer = ask(zones, "5.0.0.10.in-addr.arpa", PTR)
    assert answer.rcode == dns.rcode.NOERROR and answer.authoritative
    assert records(answer) == ["ip-10-0-0-5.RegionOne.compute.internal."]
    assert ask(zones, "5.0.0.10.in-addr.arpa", A).answer == []


@pytest.mark.parametrize("name", ["10.0.0.10.in-addr.arpa", "99.0.0.10.in-addr.arpa",
                                  "05.0.0.10.in-addr.arpa", "1.200.0.10.in-addr.arpa"])
def test_ptr_of_other_addresses_in_the_zone_is_nxdomain(zones, name):
    answer = ask(zones, name, PTR)
    assert answer.rcode == dns.rcode.NXDOMAIN
    assert soa_zone(answer) == "0.10.in-addr.arpa."


def test_reverse_branches_above_the_fixed_range_exist(zones):
    # resolvers minimising their queries walk 0.10 → 0.0.10 → 5.0.0.10
    for name in ("0.10.in-addr.arpa", "0.0.10.in-addr.arpa", "3.0.10.in-addr.arpa"):
        assert ask(zones, name, PTR).rcode == dns.rcode.NOERROR, name
    assert ask(zones, "4.0.10.in-addr.arpa", PTR).rcode == dns.rcode.NXDOMAIN
    assert ask(zones, "0.10.in-addr.arpa", SOA).answer[0].rdtype == SOA


@pytest.mark.parametrize("name, qtype", [
    ("example.com", A), ("compute.internal", A), ("ip-10-0-0-5.us-east-1.compute.internal", A),
    ("test", A), ("8.8.8.8.in-addr.arpa", PTR), ("10.in-addr.arpa", PTR),
    ("25.114.0.203.in-addr.arpa", PTR), ("0.203.in-addr.arpa", PTR),
    ("in-addr.arpa", PTR), ("1.0.0.0.0.0.0.0.ip6.arpa", PTR),
])
def test_names_outside_our_zones_are_refused(zones, name, qtype):
    answer = ask(zones, name, qtype)
    assert answer.rcode == dns.rcode.REFUSED and not answer.authoritative
    assert not answer.answer and not answer.authority
