"""Key pairs: SSH (or X.509) public keys a user injects into servers.

Key pairs belong to a user, not a project. A key pair created without a public
key is generated here (RSA 2048) and its private key is returned once.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import string

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core import errors
from core.compute.models import KeyPair
from core.context import RequestContext
from core.db import Database
from core.idmap.ids import Kind, forget, key_pair_os_uuid, mint_new
from core.policy import PolicyEnforcer
from core.quota.service import QuotaService, check_count

TYPES = ("ssh", "x509")
# Nova's safe characters for key pair names; 2.92 adds "@" and ".".
NAME_CHARS = frozenset("_- " + string.digits + string.ascii_letters)
NAME_CHARS_WIDE = NAME_CHARS | {"@", "."}
QUOTA_MESSAGE = "Quota exceeded, too many key pairs."


def _colon_hex(digest: str) -> str:
    return ":".join(a + b for a, b in zip(digest[::2], digest[1::2], strict=True))


def fingerprint(public_key: str, key_type: str = "ssh") -> str:
    """Nova's fingerprint: MD5 of an SSH key's blob, SHA-1 of an X.509 certificate,
    as colon-separated hex. InvalidInput if the key cannot be read."""
    if key_type == "x509":
        try:
            cert = x509.load_pem_x509_certificate(public_key.encode())
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise errors.InvalidInput("Keypair data is invalid: failed to generate X509 "
                                      f"fingerprint. Error message: {exc}") from None
        return _colon_hex(cert.fingerprint(hashes.SHA1()).hex())  # noqa: S303
    try:
        serialization.load_ssh_public_key(public_key.strip().encode())
        blob = base64.b64decode(public_key.split()[1], validate=True)
    except (ValueError, IndexError, TypeError, binascii.Error, UnicodeError,
            UnsupportedAlgorithm):
        raise errors.InvalidInput(
            "Keypair data is invalid: failed to generate fingerprint") from None
    return _colon_hex(hashlib.md5(blob).hexdigest())  # noqa: S324


def generate(name: str, key_type: str = "ssh") -> tuple[str, str]:
    """(private key PEM, public key) of a new RSA 2048 key; for ``x509`` the
    public part is a self-signed certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    if key_type == "x509":
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name[:64] or "key")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
                .sign(key, hashes.SHA256()))
        return private, cert.public_bytes(serialization.Encoding.PEM).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, f"{public} Generated-by-Nimbus"


def validate_name(name: str, wide: bool = False) -> None:
    """Nova's name rules; ``wide``: the characters of microversion 2.92."""
    if not 1 <= len(name) <= 255:
        raise errors.InvalidInput("Keypair data is invalid: Keypair name must be string and "
                                  "between 1 and 255 characters long")
    if not set(name) <= (NAME_CHARS_WIDE if wide else NAME_CHARS):
        raise errors.InvalidInput(
            "Keypair data is invalid: Keypair name contains unsafe characters")


def not_found(name: str, user_id: str | None) -> errors.NotFound:
    return errors.NotFound(f"Keypair {name} not found for user {user_id}", kind="key_pair",
                           id=name)


class KeyPairService:
    def __init__(self, db: Database, policy: PolicyEnforcer, quotas: QuotaService) -> None:
        self.db = db
        self.policy = policy
        self.quotas = quotas

    def _authorize(self, action: str, ctx: RequestContext, user_id: str | None) -> str:
        """The user acted on (the caller unless an admin names another)."""
        owner = user_id or ctx.user_id
        self.policy.enforce(f"os_compute_api:os-keypairs:{action}",
                            {"user_id": owner, "project_id": ctx.project_id}, ctx)
        if owner is None:
            raise errors.Forbidden("Key pairs belong to a user; authenticate as one.")
        return owner

    def get(self, ctx_or_user_id: RequestContext | str | None, name: str) -> KeyPair:
        """A user's key pair, without a policy check (for server create)."""
        user_id = (ctx_or_user_id.user_id if isinstance(ctx_or_user_id, RequestContext)
                   else ctx_or_user_id)
        with self.db.session() as s:
            key = s.scalar(select(KeyPair).where(KeyPair.user_id == (user_id or ""),
                                                 KeyPair.name == name))
        if key is None:
            raise not_found(name, user_id)
        return key

    def list_keypairs(self, ctx: RequestContext, user_id: str | None = None,
                      limit: int | None = None, marker: str | None = None) -> list[KeyPair]:
        """A user's key pairs by name; a page of them after the one named
        ``marker`` (InvalidInput if the user has none of that name)."""
        owner = self._authorize("index", ctx, user_id)
        q = select(KeyPair).where(KeyPair.user_id == owner).order_by(KeyPair.name)
        with self.db.session() as s:
            if marker is not None:
                if s.scalar(select(KeyPair.id).where(KeyPair.user_id == owner,
                                                     KeyPair.name == marker)) is None:
                    raise errors.InvalidInput(f"marker [{marker}] not found")
                q = q.where(KeyPair.name > marker)
            if limit is not None:
                q = q.limit(limit)
            return list(s.scalars(q))

    def show(self, ctx: RequestContext, name: str, user_id: str | None = None) -> KeyPair:
        return self.get(self._authorize("show", ctx, user_id), name)

    def create(self, ctx: RequestContext, name: str, public_key: str | None = None,
               key_type: str = "ssh", user_id: str | None = None, wide_name: bool = False
               ) -> tuple[KeyPair, str | None]:
        """Import ``public_key`` or generate a key; (key pair, private key or None).
        ``wide_name``: allow the name characters of microversion 2.92."""
        owner = self._authorize("create", ctx, user_id)
        validate_name(name, wide_name)
        if key_type not in TYPES:
            raise errors.InvalidInput(f"Keypair data is invalid: unknown type {key_type}")
        private = None
        if public_key is None:
            private, public_key = generate(name, key_type)
        fp = fingerprint(public_key, key_type)
        limit = self.quotas.limits_for(ctx.project_id or "", owner)["key_pairs"]
        key = KeyPair(user_id=owner, project_id=ctx.project_id, name=name, type=key_type,
                      fingerprint=fp, public_key=public_key)
        with self.db.session() as s:
            if s.scalar(select(KeyPair.id).where(KeyPair.user_id == owner,
                                                 KeyPair.name == name)) is not None:
                raise errors.Conflict(f"Key pair '{name}' already exists.", kind="key_pair",
                                      id=name)
            check_count("key_pairs", self._count(s, owner), 1, limit, QUOTA_MESSAGE)
            s.add(key)
            try:
                s.flush()
            except IntegrityError:
                raise errors.Conflict(f"Key pair '{name}' already exists.", kind="key_pair",
                                      id=name) from None
            # Nova's recheck: a concurrent create may have taken the last one.
            check_count("key_pairs", self._count(s, owner) - 1, 1, limit, QUOTA_MESSAGE)
            # Its EC2 ID (key-…), so that no EC2 describe has to write.
            mint_new(s, Kind.KEY_PAIR, [(key_pair_os_uuid(key.id, key.created_at),
                                         ctx.project_id or "")])
        return key, private

    def delete(self, ctx: RequestContext, name: str, user_id: str | None = None) -> None:
        owner = self._authorize("delete", ctx, user_id)
        with self.db.session() as s:
            key = s.scalar(select(KeyPair).where(KeyPair.user_id == owner,
                                                 KeyPair.name == name))
            if key is None:
                raise not_found(name, owner)
            forget(s, Kind.KEY_PAIR, [key_pair_os_uuid(key.id, key.created_at)])
            s.delete(key)

    @staticmethod
    def _count(s, user_id: str) -> int:
        return s.scalar(select(func.count()).select_from(KeyPair)
                        .where(KeyPair.user_id == user_id)) or 0
