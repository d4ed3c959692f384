"""The DNS wire protocol on UDP and TCP sockets (dnspython parses and renders
messages; ``Zones`` decides the answers).

Replies follow RFC 1035/6891: malformed packets get FORMERR (when at least the
header arrived), opcodes other than QUERY get NOTIMP, classes other than IN and
zone transfers get REFUSED, an unknown EDNS version gets BADVERS, and a reply
too large for the client's UDP buffer is truncated (TC) so the client retries
over TCP. Responses (QR set) are never answered, so no two servers loop.
Work is bounded: a few worker threads per transport, excess UDP queries are
dropped (the client retries) and idle TCP connections are closed.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from concurrent.futures import ThreadPoolExecutor

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from core.dns.zone import Zones

log = logging.getLogger(__name__)

UDP_DEFAULT_PAYLOAD = 512
UDP_MAX_PAYLOAD = 4096  # what this server advertises and honours at most
TCP_IDLE_TIMEOUT = 10.0
_REFUSED_TYPES = {dns.rdatatype.AXFR, dns.rdatatype.IXFR}
_HEADER = struct.Struct("!HH")


class DnsResponder:
    """Turns one query's wire bytes into the reply's (or None: no reply)."""

    def __init__(self, zones: Zones) -> None:
        self.zones = zones

    def respond(self, wire: bytes, max_size: int | None = None) -> bytes | None:
        """The reply to ``wire``; ``max_size`` None means UDP (the client's EDNS
        buffer, else 512 bytes), a number is a hard limit (TCP: 65535)."""
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # any parse failure is the sender's: FORMERR
            return _formerr(wire)
        if query.flags & dns.flags.QR:
            return None
        response = dns.message.make_response(query, our_payload=UDP_MAX_PAYLOAD)
        response.flags &= ~dns.flags.AA
        limit = max_size or min(max(query.payload if query.edns >= 0 else 0,
                                    UDP_DEFAULT_PAYLOAD), UDP_MAX_PAYLOAD)
        if query.edns > 0:
            response.use_edns(0, 0, UDP_MAX_PAYLOAD)
            response.set_rcode(dns.rcode.BADVERS)
        elif query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
        elif len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
        else:
            self._answer(query, response)
        return response.to_wire(max_size=limit, prefer_truncation=True)

    def _answer(self, query: dns.message.Message, response: dns.message.Message) -> None:
        question = query.question[0]
        if question.rdclass != dns.rdataclass.IN or question.rdtype in _REFUSED_TYPES:
            response.set_rcode(dns.rcode.REFUSED)
            return
        try:
            answer = self.zones.resolve(question.name, question.rdtype)
        except Exception:
            log.exception("DNS lookup of %s failed", question.name)
            response.set_rcode(dns.rcode.SERVFAIL)
            return
        response.set_rcode(answer.rcode)
        if answer.authoritative:
            response.flags |= dns.flags.AA
        response.answer.extend(answer.answer)
        response.authority.extend(answer.authority)


def _formerr(wire: bytes) -> bytes | None:
    """FORMERR echoing the query's id and opcode, or None when not even a header
    arrived or the packet claims to be a response."""
    if len(wire) < 12:
        return None
    qid, flags = _HEADER.unpack_from(wire)
    if flags & dns.flags.QR:
        return None
    reply = dns.message.Message(id=qid)
    reply.flags = dns.flags.QR | (flags & (dns.flags.RD | 0x7800))  # keep RD and opcode
    reply.set_rcode(dns.rcode.FORMERR)
    return reply.to_wire()


class DnsServer:
    """The responder on ``host:port``, UDP and TCP, in background threads."""

    def __init__(self, zones: Zones, host: str = "127.0.0.1", port: int = 8053,
                 workers: int = 4, max_pending: int = 256) -> None:
        self.responder = DnsResponder(zones)
        self.host, self.port = host, port
        self.workers = workers
        self._pending = threading.BoundedSemaphore(max_pending)
        self._tcp_slots = threading.BoundedSemaphore(workers * 4)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self._udp_pool: ThreadPoolExecutor | None = None
        self._tcp_pool: ThreadPoolExecutor | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def start(self) -> DnsServer:
        """Bind both sockets (OSError if the port is taken) and serve."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        udp = socket.socket(family, socket.SOCK_DGRAM)
        tcp = socket.socket(family, socket.SOCK_STREAM)
        try:
            udp.bind((self.host, self.port))
            self.port = udp.getsockname()[1]  # port 0 picks a free one
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp.bind((self.host, self.port))
            tcp.listen(64)
        except OSError:
            udp.close()
            tcp.close()
            raise
        udp.settimeout(0.5)
        tcp.settimeout(0.5)
        self._udp, self._tcp = udp, tcp
        self._udp_pool = ThreadPoolExecutor(self.workers, thread_name_prefix="dns-udp")
        self._tcp_pool = ThreadPoolExecutor(self.workers, thread_name_prefix="dns-tcp")
        for target, name in ((self._serve_udp, "dns-udp-listener"),
                             (self._serve_tcp, "dns-tcp-listener")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("DNS responder listening on %s:%d (udp, tcp)", self.host, self.port)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for pool in (self._udp_pool, self._tcp_pool):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        for sock in (self._udp, self._tcp):
            if sock is not None:
                sock.close()
        self._threads = []

    # ---- UDP --------------------------------------------------------------
    def _serve_udp(self) -> None:
        assert self._udp is not None and self._udp_pool is not None
        while not self._stopping.is_set():
            try:
                wire, peer = self._udp.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                continue
            if not self._pending.acquire(blocking=False):
                continue  # overloaded: drop, the client retries
            try:
                self._udp_pool.submit(self._answer_udp, wire, peer)
            except RuntimeError:  # shutting down
                self._pending.release()
                return

    def _answer_udp(self, wire: bytes, peer: tuple) -> None:
        try:
            reply = self.responder.respond(wire)
            if reply is not None and self._udp is not None:
                self._udp.sendto(reply, peer)
        except Exception:
            log.exception("DNS reply to %s failed", peer[0])
        finally:
            self._pending.release()

    # ---- TCP --------------------------------------------------------------
    def _serve_tcp(self) -> None:
        assert self._tcp is not None and self._tcp_pool is not None
        while not self._stopping.is_set():
            try:
                conn, _peer = self._tcp.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                continue
            if not self._tcp_slots.acquire(blocking=False):
                conn.close()  # overloaded
                continue
            try:
                self._tcp_pool.submit(self._serve_connection, conn)
            except RuntimeError:
                self._tcp_slots.release()
                conn.close()
                return

    def _serve_connection(self, conn: socket.socket) -> None:
        """Queries on one connection, each prefixed by its 2-byte length, until
        the client closes it, goes idle, or the server stops."""
        try:
            with conn:
                conn.settimeout(TCP_IDLE_TIMEOUT)
                while not self._stopping.is_set():
                    head = _read_exactly(conn, 2)
                    if head is None:
                        return
                    wire = _read_exactly(conn, struct.unpack("!H", head)[0])
                    if wire is None:
                        return
                    reply = self.responder.respond(wire, max_size=65535)
                    if reply is None:
                        return
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            pass  # the client went away or idled out
        except Exception:
            log.exception("DNS over TCP failed")
        finally:
            self._tcp_slots.release()


def _read_exactly(conn: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
