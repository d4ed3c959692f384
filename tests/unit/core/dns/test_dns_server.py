"""core/dns/server.py on real sockets, asked with dnspython's query functions (and
raw bytes for what no well-behaved client sends): the wire-level codes,
truncation and TCP."""

from __future__ import annotations

import logging
import socket
import struct

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from core.compute.models import Instance
from core.db import Database
from core.db.migrate import upgrade
from core.dns.records import DatabaseRecords
from core.dns.server import DnsServer
from core.dns.service import start_in_process
from core.dns.zone import Zones
from core.identity.models import Domain, Project
from core.settings import load_settings
from tests.support.network import ensure_networks, give_port

TIMEOUT = 3.0
MANY = 40  # servers sharing one name: more A records than 512 bytes hold


def make_zones(db: Database) -> Zones:
    return Zones(DatabaseRecords(db), region="RegionOne",
                 ec2_public_domain="compute.nimbus.test", dns_domain="nimbus.test",
                 fixed_range="10.0.0.0/22", floating_range="203.0.113.0/24", ttl=30)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('dns-srv') / 'nimbus.db'}")
    upgrade(database)
    with database.session() as s:
        s.add(Domain(id="default", name="Default"))
        s.add(Project(id="p", name="demo", domain_id="default"))
        s.flush()
        for i in range(MANY + 1):
            uuid, name = (f"u-{i}", "many") if i else ("u-web", "web")
            s.add(Instance(uuid=uuid, display_name=name, hostname=name, project_id="p",
                           user_id="u", flavor={}, flavorid="1", vcpus=1, memory_mb=64,
                           root_gb=1, reservation_id="r"))
    ensure_networks(database, fixed_range="10.0.0.0/22", floating_range="203.0.113.0/24")
    for i in range(MANY + 1):
        give_port(database, f"u-{i}" if i else "u-web", f"10.0.1.{i + 1}", "p")
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def responder(db):
    server = DnsServer(make_zones(db), "127.0.0.1", 0).start()
    yield server
    server.stop()


def udp(server: DnsServer, query: dns.message.Message, **kw) -> dns.message.Message:
    return dns.query.udp(query, "127.0.0.1", port=server.port, timeout=TIMEOUT, **kw)


def raw_udp(server: DnsServer, wire: bytes, timeout: float = TIMEOUT) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(wire, ("127.0.0.1", server.port))
        try:
            return sock.recv(65535)
        except TimeoutError:
            return None


def test_a_query_over_udp(responder):
    reply = udp(responder, dns.message.make_query("web.demo.nimbus.test", "A"))
    assert reply.rcode() == dns.rcode.NOERROR
    assert reply.flags & dns.flags.AA and reply.flags & dns.flags.QR
    assert not reply.flags & dns.flags.RA
    [rrset] = reply.answer
    assert [r.address for r in rrset] == ["10.0.1.1"] and rrset.ttl == 30


def test_ptr_nxdomain_and_refused_over_udp(responder):
    reply = udp(responder, dns.message.make_query("1.1.0.10.in-addr.arpa", "PTR"))
    assert [r.target.to_text() for r in reply.answer[0]] == \
        ["ip-10-0-1-1.RegionOne.compute.internal."]
    reply = udp(responder, dns.message.make_query("nope.demo.nimbus.test", "A"))
    assert reply.rcode() == dns.rcode.NXDOMAIN and reply.authority[0].rdtype == dns.rdatatype.SOA
    reply = udp(responder, dns.message.make_query("example.org", "A"))
    assert reply.rcode() == dns.rcode.REFUSED and not reply.flags & dns.flags.AA


def test_tcp_serves_several_queries_on_one_connection(responder):
    reply = dns.query.tcp(dns.message.make_query("web.demo.nimbus.test", "A"), "127.0.0.1",
                          port=responder.port, timeout=TIMEOUT)
    assert reply.answer[0][0].address == "10.0.1.1"
    with socket.create_connection(("127.0.0.1", responder.port), timeout=TIMEOUT) as sock:
        for name in ("web.demo.nimbus.test", "ip-10-0-1-1.regionone.compute.internal"):
            q = dns.message.make_query(name, "A")
            dns.query.send_tcp(sock, q)
            reply, _ = dns.query.receive_tcp(sock, expiration=None)
            assert reply.id == q.id and reply.answer[0][0].address == "10.0.1.1"


def test_large_answers_are_truncated_over_udp_and_whole_over_tcp(responder):
    query = dns.message.make_query("many.demo.nimbus.test", "A")
    reply = udp(responder, query, ignore_trailing=True)
    assert reply.flags & dns.flags.TC
    reply = dns.query.tcp(query, "127.0.0.1", port=responder.port, timeout=TIMEOUT)
    assert not reply.flags & dns.flags.TC and len(reply.answer[0]) == MANY
    # a client announcing a 4096-byte EDNS buffer gets it all over UDP
    reply = udp(responder, dns.message.make_query("many.demo.nimbus.test", "A",
                                                  use_edns=0, payload=4096))
    assert not reply.flags & dns.flags.TC and len(reply.answer[0]) == MANY
    assert reply.edns == 0


def test_malformed_packets_get_formerr_with_their_id(responder):
    header_only = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)  # 1 question, missing
    reply = dns.message.from_wire(raw_udp(responder, header_only))
    assert reply.id == 0x1234 and reply.rcode() == dns.rcode.FORMERR
    assert reply.flags & dns.flags.QR and reply.flags & dns.flags.RD
    junk = dns.message.make_query("web.demo.nimbus.test", "A").to_wire() + b"junk"
    reply = dns.message.from_wire(raw_udp(responder, junk))
    assert reply.rcode() == dns.rcode.FORMERR


def test_two_questions_are_formerr(responder):
    query = dns.message.make_query("web.demo.nimbus.test", "A")
    query.question.append(dns.message.make_query("x.demo.nimbus.test", "A").question[0])
    reply = dns.message.from_wire(raw_udp(responder, query.to_wire()))
    assert reply.rcode() == dns.rcode.FORMERR


def test_no_reply_to_short_packets_or_responses(responder):
    assert raw_udp(responder, b"\x12\x34\x01", timeout=0.5) is None
    response = dns.message.make_response(dns.message.make_query("web.demo.nimbus.test", "A"))
    assert raw_udp(responder, response.to_wire(), timeout=0.5) is None
    # the server still answers afterwards
    assert udp(responder, dns.message.make_query("web.demo.nimbus.test", "A")).answer


@pytest.mark.parametrize("opcode", [dns.opcode.STATUS, dns.opcode.NOTIFY, dns.opcode.IQUERY])
def test_other_opcodes_are_not_implemented(responder, opcode):
    query = dns.message.make_query("web.demo.nimbus.test", "A")
    query.set_opcode(opcode)
    reply = dns.message.from_wire(raw_udp(responder, query.to_wire()))
    assert reply.rcode() == dns.rcode.NOTIMP and reply.opcode() == opcode
    assert reply.id == query.id and not reply.answer


def test_other_classes_and_zone_transfers_are_refused(responder):
    reply = udp(responder, dns.message.make_query("web.demo.nimbus.test", "A",
                                                  rdclass=dns.rdataclass.CH))
    assert reply.rcode() == dns.rcode.REFUSED
    reply = dns.query.tcp(dns.message.make_query("nimbus.test", "AXFR"), "127.0.0.1",
                          port=responder.port, timeout=TIMEOUT)
    assert reply.rcode() == dns.rcode.REFUSED and not reply.answer


def test_unknown_edns_version_is_badvers(responder):
    reply = udp(responder, dns.message.make_query("web.demo.nimbus.test", "A", use_edns=1))
    assert reply.rcode() == dns.rcode.BADVERS and reply.edns == 0


def test_a_database_failure_is_servfail(tmp_path):
    broken = Database(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables
    server = DnsServer(make_zones(broken), "127.0.0.1", 0).start()
    try:
        reply = udp(server, dns.message.make_query("web.demo.nimbus.test", "A"))
        assert reply.rcode() == dns.rcode.SERVFAIL and not reply.answer
        # names outside the zones never touch the database
        reply = udp(server, dns.message.make_query("example.org", "A"))
        assert reply.rcode() == dns.rcode.REFUSED
    finally:
        server.stop()
        broken.dispose()


def test_a_taken_port_fails_start_but_not_the_api(responder, db, caplog):
    with pytest.raises(OSError):
        DnsServer(make_zones(db), "127.0.0.1", responder.port).start()
    settings = load_settings({}, dns_port=responder.port, data_dir="/nonexistent")
    with caplog.at_level(logging.ERROR, logger="core.dns.service"):
        assert start_in_process(settings, db) is None
    assert "DNS responder not started" in caplog.text


def test_stop_closes_the_ports(db):
    server = DnsServer(make_zones(db), "127.0.0.1", 0).start()
    port = server.port
    server.stop()
    again = DnsServer(make_zones(db), "127.0.0.1", port).start()  # free again
    again.stop()
