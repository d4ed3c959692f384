"""Keystone-compatible Fernet key repositories, tokens and secret encryption.

Key repositories follow ``keystone-manage fernet_setup`` / ``fernet_rotate``
(keystone/common/fernet_utils.py): key ``0`` is staged, the highest number is
the primary (the only key that encrypts), the rest are secondaries. Token
payloads are byte-for-byte those of keystone/token/token_formatters.py, so a
token minted here decodes in Keystone given the same keys, and vice versa.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import logging
import os
import re
import secrets
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgpack
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.errors import Unauthorized
from core.numbers import is_ascii_digits

LOG = logging.getLogger(__name__)

#: Keystone's default ``[auth] methods``; a method's bit is 1 << its index.
DEFAULT_AUTH_METHODS: tuple[str, ...] = (
    "external",
    "password",
    "token",
    "oauth1",
    "mapped",
    "application_credential",
)
DEFAULT_DOMAIN_ID = "default"
#: Far above any real payload (~200 chars); rejects junk before any crypto work.
MAX_TOKEN_LENGTH = 4096
_UUID_HEX = re.compile(r"[0-9a-f]{32}")
#: Field order of each payload version (keystone's assemble() tuples).
_LAYOUTS: dict[int, tuple[str, ...]] = {
    0: ("user_id", "methods", "expires_at", "audit_ids"),
    1: ("user_id", "methods", "domain_id", "expires_at", "audit_ids"),
    2: ("user_id", "methods", "project_id", "expires_at", "audit_ids"),
    8: ("user_id", "methods", "system", "expires_at", "audit_ids"),
    9: ("user_id", "methods", "project_id", "expires_at", "audit_ids", "app_cred_id"),
}
_SCOPE_VERSIONS = ((9, "app_cred_id"), (8, "system"), (2, "project_id"), (1, "domain_id"))
_SCOPE_FIELDS = ("project_id", "domain_id", "system", "app_cred_id")
_SECRET_ERRORS = (InvalidToken, ValueError, TypeError, AttributeError)
_UNREADABLE_SECRET = "Could not decrypt the stored secret."
_PARSE_ERRORS = (
    InvalidToken,
    msgpack.UnpackException,
    ValueError,
    TypeError,
    LookupError,
    OverflowError,
    OSError,
)


class KeyRepositoryError(RuntimeError):
    """The key repository is missing, empty or not in a usable state."""


class CredentialDecryptionError(ValueError):
    """A stored secret could not be decrypted with any key in the repository."""


class KeyRepository:
    """A directory of Fernet keys named ``0`` (staged), ``1..N`` (primary = max).

    Keys are re-read when the directory's signature (names, inodes, sizes,
    mtimes) changes, checked at most every ``reload_interval`` seconds, so a
    rotation made on disk by another process is picked up without a restart.
    """

    def __init__(
        self,
        path: Path,
        max_active_keys: int = 3,
        *,
        reload_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_active_keys < 2:
            # keystone would purge the new primary too, leaving only key 0
            raise ValueError("max_active_keys must be at least 2")
        self.path = Path(path)
        self.max_active_keys = max_active_keys
        self.reload_interval = reload_interval
        self._clock = clock
        self._lock = threading.RLock()
        self._checked_at: float | None = None
        self._signature: list[tuple[int, int, int, int]] | None = None
        self._keys: list[bytes] = []
        self._fernet: MultiFernet | None = None
        self._fingerprint = ""

    # -- on-disk operations (keystone-manage fernet_setup / fernet_rotate) --

    def initialize(self) -> None:
        """Create the directory (mode 0700) and keys ``0`` and ``1`` unless keys exist."""
        with self._lock:
            if not self.path.exists():
                self.path.mkdir(parents=True, mode=0o700)
                os.chmod(self.path, 0o700)  # mkdir's mode is filtered by umask
            elif self.path.stat().st_mode & 0o007:
                LOG.warning("Key repository %s is accessible to other users", self.path)
            with self._flock():
                existing = self._key_files()
                if not existing:
                    self._write_key("0")
                    self._rotate_locked()
                elif 0 not in existing:  # e.g. copied without it: make it rotatable
                    self._write_key("0")
            self._invalidate()

    def rotate(self) -> None:
        """Promote staged key 0 to primary max+1, stage a new 0, purge old secondaries."""
        with self._lock, self._flock():
            self._rotate_locked()
        self._invalidate()

    def _rotate_locked(self) -> None:
        key_files = self._key_files()
        if 0 not in key_files:
            raise KeyRepositoryError(f"no staged key 0 in {self.path}; run fernet-setup")
        tmp = self._write_tmp_key()
        new_primary = max(key_files) + 1
        os.replace(key_files.pop(0), self.path / str(new_primary))
        key_files[new_primary] = self.path / str(new_primary)
        os.replace(tmp, self.path / "0")
        LOG.info("Promoted key 0 to primary key %d in %s", new_primary, self.path)
        # As keystone: keep max_active_keys - 1 non-staged keys, dropping the lowest.
        survivors = sorted(key_files, reverse=True)
        while len(survivors) > self.max_active_keys - 1:
            index = survivors.pop()
            os.remove(key_files[index])
            LOG.info("Purged excess key %d from %s", index, self.path)
        self._fsync_dir()

    def _write_key(self, name: str) -> None:
        os.replace(self._write_tmp_key(), self.path / name)
        self._fsync_dir()

    def _write_tmp_key(self) -> Path:
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".key-", suffix=".tmp")  # 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
            handle.flush()
            os.fsync(handle.fileno())
        return Path(tmp)

    def _fsync_dir(self) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _flock(self) -> Iterator[None]:
        """Serialise set-up and rotation across processes sharing the directory."""
        try:
            fd = os.open(self.path / ".lock", os.O_CREAT | os.O_RDWR, 0o600)
        except FileNotFoundError:
            raise KeyRepositoryError(f"key repository {self.path} does not exist") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _key_files(self) -> dict[int, Path]:
        """Numbered, non-empty key files, as keystone's ``_get_key_files``."""
        return {i: path for i, (path, st) in self._scan().items() if st.st_size}

    def _scan(self) -> dict[int, tuple[Path, os.stat_result]]:
        found: dict[int, tuple[Path, os.stat_result]] = {}
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.path):
                if is_ascii_digits(entry.name):
                    with contextlib.suppress(FileNotFoundError):
                        st = entry.stat(follow_symlinks=True)
                        if stat.S_ISREG(st.st_mode):
                            found[int(entry.name)] = (Path(entry.path), st)
        return found

    # -- cached view used on every request --

    def keys(self) -> list[bytes]:
        """Keys in MultiFernet order: primary, secondaries by descending number, staged."""
        with self._lock:
            self._refresh()
            return list(self._keys)

    def multifernet(self) -> MultiFernet:
        """A MultiFernet over :meth:`keys`; raises KeyRepositoryError if there are none."""
        with self._lock:
            self._refresh()
            if self._fernet is None:
                raise KeyRepositoryError(f"no Fernet keys in {self.path}")
            return self._fernet

    def fingerprint(self) -> str:
        """A digest of the keys in use (checked as :meth:`keys` is): the same on
        every node with the same keys, another once a key comes or goes."""
        with self._lock:
            self._refresh()
            return self._fingerprint

    def _invalidate(self) -> None:
        with self._lock:
            self._checked_at = None

    def _refresh(self) -> None:
        now = self._clock()
        if self._checked_at is not None and now - self._checked_at < self.reload_interval:
            return
        self._checked_at = now
        scan = self._scan()
        signature = sorted(
            (i, st.st_ino, st.st_size, st.st_mtime_ns) for i, (_, st) in scan.items()
        )
        if signature == self._signature:
            return
        keys: list[bytes] = []
        for index, (path, _) in sorted(scan.items(), reverse=True):
            try:
                key = path.read_bytes().strip()
                Fernet(key)
            except OSError:
                continue  # removed by a concurrent rotation; the signature will change
            except (ValueError, binascii.Error):
                LOG.warning("Ignoring invalid Fernet key %d in %s", index, self.path)
                continue
            keys.append(key)
        self._signature = signature
        self._keys = keys
        self._fernet = MultiFernet([Fernet(k) for k in keys]) if keys else None
        self._fingerprint = hashlib.sha256(b"nimbus-fernet-keys\n" + b"\n".join(keys)) \
            .hexdigest()[:32]


@dataclass(frozen=True)
class TokenPayload:
    """What a Fernet token carries; the scope fields select the payload version."""

    user_id: str
    methods: tuple[str, ...]
    expires_at: datetime
    audit_ids: tuple[str, ...]
    project_id: str | None = None
    domain_id: str | None = None
    system: str | None = None
    app_cred_id: str | None = None
    issued_at: datetime | None = None


def new_audit_id() -> str:
    """A fresh audit id: 16 random bytes, urlsafe base64 without padding (22 chars)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")


class TokenFormatter:
    """Creates and parses Keystone Fernet tokens (payload versions 0, 1, 2, 8, 9)."""

    def __init__(
        self,
        keys: KeyRepository,
        *,
        auth_methods: Sequence[str] = DEFAULT_AUTH_METHODS,
        default_domain_id: str = DEFAULT_DOMAIN_ID,
    ) -> None:
        self._keys = keys
        self._auth_methods = tuple(auth_methods)
        self._default_domain_id = default_domain_id

    def create(self, payload: TokenPayload) -> str:
        """Encrypt ``payload`` with the primary key.

        Raises ValueError for an inconsistent payload and KeyRepositoryError
        when the repository holds no keys.
        """
        packed = msgpack.packb(self._assemble(payload))
        return self._keys.multifernet().encrypt(packed).rstrip(b"=").decode("ascii")

    def keys_fingerprint(self) -> str:
        """Which keys tokens are parsed with now (KeyRepository.fingerprint): a
        token parsed under the same fingerprint parses the same way again."""
        return self._keys.fingerprint()

    def parse(self, token: str) -> TokenPayload:
        """Decrypt and decode ``token``; expiry is NOT checked (the caller does).

        Raises Unauthorized("Invalid token.") for anything malformed, tampered,
        undecryptable or of an unknown version; KeyRepositoryError if no keys.
        """
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise Unauthorized("Invalid token.")
        crypto = self._keys.multifernet()
        try:
            raw = (token + "=" * (-len(token) % 4)).encode("ascii")
            data = crypto.decrypt(raw)
            issued_at = datetime.fromtimestamp(crypto.extract_timestamp(raw), UTC)
            unpacked = msgpack.unpackb(data)
            return self._disassemble(unpacked, issued_at)
        except _PARSE_ERRORS:
            raise Unauthorized("Invalid token.") from None

    # -- packing, mirroring keystone's *Payload.assemble / disassemble --

    def _assemble(self, p: TokenPayload) -> tuple[Any, ...]:
        version = next((v for v, scope in _SCOPE_VERSIONS if getattr(p, scope) is not None), 0)
        stray = [
            f for f in _SCOPE_FIELDS if getattr(p, f) is not None and f not in _LAYOUTS[version]
        ]
        if stray:
            raise ValueError(f"conflicting token scope fields: {stray}")
        packed = (self._pack(name, getattr(p, name)) for name in _LAYOUTS[version])
        return (version, *packed)

    def _disassemble(self, unpacked: Any, issued_at: datetime) -> TokenPayload:
        if not isinstance(unpacked, list) or not unpacked:
            raise TypeError("payload is not a list")
        version, *rest = unpacked
        layout = _LAYOUTS.get(version) if type(version) is int else None
        if layout is None or len(rest) != len(layout):
            raise ValueError(f"unsupported Fernet payload version {version!r}")
        fields = {name: self._unpack(name, value) for name, value in zip(layout, rest, strict=True)}
        return TokenPayload(**fields, issued_at=issued_at)

    def _pack(self, name: str, value: Any) -> Any:
        if name == "methods":
            unknown = set(value) - set(self._auth_methods)
            if unknown:  # keystone drops unknown methods silently; refuse instead
                raise ValueError(f"auth methods not in [auth] methods: {unknown}")
            return sum(1 << i for i, m in enumerate(self._auth_methods) if m in value)
        if name == "domain_id":
            # Not a (flag, value) pair: raw UUID bytes, or the default domain id.
            if isinstance(value, str) and _UUID_HEX.fullmatch(value):
                return bytes.fromhex(value)
            if value == self._default_domain_id:
                return value
            raise ValueError("a domain id must be a UUID hex or the default domain")
        if name == "system":
            if not isinstance(value, str):
                raise ValueError("system scope must be a string such as 'all'")
            return value
        if name == "expires_at":
            if value.tzinfo is None:
                raise ValueError("expires_at must be timezone-aware")
            return value.timestamp()
        if name == "audit_ids":
            return [_audit_id_to_bytes(a) for a in value]
        return _pack_id(value)

    def _unpack(self, name: str, value: Any) -> Any:
        if name == "methods":
            if type(value) is not int or value < 0 or value >> len(self._auth_methods):
                raise ValueError("methods bitmask has unknown bits")
            # keystone lists methods from the highest bit down
            ordered = reversed(list(enumerate(self._auth_methods)))
            return tuple(m for i, m in ordered if value & (1 << i))
        if name == "domain_id":
            if isinstance(value, bytes) and len(value) == 16:
                return value.hex()
            if isinstance(value, str) and value == self._default_domain_id:
                return value
            raise ValueError("unrecognised domain id")
        if name == "system":
            if not isinstance(value, str):
                raise TypeError("system scope is not a string")
            return value
        if name == "expires_at":
            if type(value) not in (int, float):
                raise TypeError("expires_at is not a number")
            return datetime.fromtimestamp(value, UTC)
        if name == "audit_ids":
            return tuple(_audit_id_from_bytes(a) for a in value)
        return _unpack_id(value)


def _pack_id(value: str) -> tuple[bool, bytes | str]:
    """(True, 16 bytes) for a lowercase UUID hex, else (False, text).

    Keystone also compresses dashed or upper-case UUIDs (and hands them back as
    plain hex); packing only canonical hex keeps every id round-trip exact.
    """
    if not isinstance(value, str) or not value:
        raise ValueError("ids must be non-empty strings")
    if _UUID_HEX.fullmatch(value):
        return (True, bytes.fromhex(value))
    return (False, value)


def _unpack_id(pair: Any) -> str:
    is_bytes, value = pair
    if is_bytes is True and isinstance(value, bytes) and len(value) == 16:
        return value.hex()
    if is_bytes is False and isinstance(value, (str, bytes)):
        return value.decode("utf-8") if isinstance(value, bytes) else value
    raise ValueError("malformed id")


def _audit_id_to_bytes(audit_id: str) -> bytes:
    raw = base64.urlsafe_b64decode(audit_id + "==")
    if len(raw) != 16 or _audit_id_from_bytes(raw) != audit_id:
        raise ValueError(f"not an audit id: {audit_id!r}")
    return raw


def _audit_id_from_bytes(raw: Any) -> str:
    if not isinstance(raw, bytes):
        raise TypeError("audit id is not bytes")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


class SecretCipher:
    """Encrypts stored secrets at rest (Keystone's credential encryption scheme).

    Use a key repository of its own. Rotating it purges old keys, so secrets
    must be re-encrypted (:meth:`reencrypt`) before their key is purged, as
    ``keystone-manage credential_migrate`` does.
    """

    def __init__(self, keys: KeyRepository) -> None:
        self._keys = keys

    def encrypt(self, text: str) -> str:
        """Encrypt ``text`` with the primary key."""
        return self._keys.multifernet().encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt with any active key; raises CredentialDecryptionError."""
        try:
            return self._keys.multifernet().decrypt(token.encode("ascii")).decode()
        except _SECRET_ERRORS as exc:
            raise CredentialDecryptionError(_UNREADABLE_SECRET) from exc

    def reencrypt(self, token: str) -> str:
        """Re-encrypt under the current primary key (MultiFernet.rotate)."""
        try:
            return self._keys.multifernet().rotate(token.encode("ascii")).decode()
        except _SECRET_ERRORS as exc:
            raise CredentialDecryptionError(_UNREADABLE_SECRET) from exc
