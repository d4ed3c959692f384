"""Tests for core/identity/fernet.py: key repositories, Keystone token payloads."""

from __future__ import annotations

import base64
import dataclasses
import os
import stat
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgpack
import pytest
from cryptography.fernet import Fernet, MultiFernet

from core.errors import Unauthorized
from core.identity.fernet import (
    CredentialDecryptionError,
    KeyRepository,
    KeyRepositoryError,
    SecretCipher,
    TokenFormatter,
    TokenPayload,
    new_audit_id,
)

REPO_ROOT = Path(__file__).resolve().parents[4]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path / "fernet-keys"


@pytest.fixture
def repo(key_dir: Path) -> KeyRepository:
    repo = KeyRepository(key_dir, reload_interval=0)
    repo.initialize()
    return repo


@pytest.fixture
def formatter(repo: KeyRepository) -> TokenFormatter:
    return TokenFormatter(repo)


def make_payload(**overrides: object) -> TokenPayload:
    fields: dict[str, object] = {
        "user_id": uuid.uuid4().hex,
        "methods": ("password",),
        "expires_at": datetime.now(UTC).replace(microsecond=250000) + timedelta(hours=1),
        "audit_ids": (new_audit_id(),),
    }
    fields.update(overrides)
    return TokenPayload(**fields)  # type: ignore[arg-type]


def decrypt_plain(repo: KeyRepository, token: str) -> list[object]:
    """Decode a token the way Keystone does, without our parser."""
    padded = token + "=" * (-len(token) % 4)
    keys = repo.keys()  # primary first, as keystone's load_keys()
    crypto = MultiFernet([Fernet(key) for key in keys])
    return msgpack.unpackb(crypto.decrypt(padded.encode()))


def key_names(path: Path) -> list[str]:
    return sorted((p.name for p in path.iterdir() if p.name.isdigit()), key=int)


# -- key repository ---------------------------------------------------------


def test_initialize_creates_private_directory_with_staged_and_primary_keys(
    key_dir: Path,
) -> None:
    old_umask = os.umask(0)  # permissions must not depend on the umask
    try:
        KeyRepository(key_dir).initialize()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert key_names(key_dir) == ["0", "1"]
    for name in ("0", "1"):
        assert stat.S_IMODE((key_dir / name).stat().st_mode) == 0o600
        Fernet((key_dir / name).read_bytes())  # a valid Fernet key


def test_initialize_is_idempotent(key_dir: Path) -> None:
    repo = KeyRepository(key_dir, reload_interval=0)
    repo.initialize()
    before = {n: (key_dir / n).read_bytes() for n in key_names(key_dir)}
    repo.initialize()
    KeyRepository(key_dir).initialize()
    assert {n: (key_dir / n).read_bytes() for n in key_names(key_dir)} == before


def test_keys_are_ordered_primary_secondaries_descending_then_staged(
    repo: KeyRepository, key_dir: Path
) -> None:
    repo.rotate()
    repo.rotate()  # files now 0, 2, 3
    assert key_names(key_dir) == ["0", "2", "3"]
    expected = [(key_dir / n).read_bytes() for n in ("3", "2", "0")]
    assert repo.keys() == expected


def test_rotate_follows_keystone_algorithm(key_dir: Path) -> None:
    repo = KeyRepository(key_dir, max_active_keys=4, reload_interval=0)
    repo.initialize()
    staged = (key_dir / "0").read_bytes()
    repo.rotate()
    # the staged key is promoted to max + 1 and a new staged key appears
    assert key_names(key_dir) == ["0", "1", "2"]
    assert (key_dir / "2").read_bytes() == staged
    assert (key_dir / "0").read_bytes() != staged
    repo.rotate()
    assert key_names(key_dir) == ["0", "1", "2", "3"]
    repo.rotate()  # the oldest secondary goes so that 4 keys remain
    assert key_names(key_dir) == ["0", "2", "3", "4"]
    repo.rotate()
    assert key_names(key_dir) == ["0", "3", "4", "5"]
    leftovers = [p.name for p in key_dir.iterdir() if not p.name.isdigit()]
    assert leftovers == [".lock"]  # temp files were renamed into place
    for name in key_names(key_dir):
        assert stat.S_IMODE((key_dir / name).stat().st_mode) == 0o600


def test_rotate_requires_an_initialized_repository(tmp_path: Path) -> None:
    with pytest.raises(KeyRepositoryError):
        KeyRepository(tmp_path / "missing").rotate()
    with pytest.raises(KeyRepositoryError):
        KeyRepository(tmp_path).rotate()  # exists, but holds no staged key


def test_empty_repository_cannot_issue_tokens(tmp_path: Path) -> None:
    repo = KeyRepository(tmp_path / "nothing")
    assert repo.keys() == []
    with pytest.raises(KeyRepositoryError):
        TokenFormatter(repo).create(make_payload())


def test_max_active_keys_below_two_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        KeyRepository(tmp_path, max_active_keys=1)


def test_invalid_and_empty_key_files_are_ignored(
    repo: KeyRepository, key_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = repo.keys()
    (key_dir / "7").write_text("not a fernet key")
    (key_dir / "8").write_text("")
    (key_dir / "notes.txt").write_text("ignored")
    assert repo.keys() == good
    assert "Ignoring invalid Fernet key 7" in caplog.text


def test_second_instance_sees_rotation_after_its_cache_window(key_dir: Path) -> None:
    node_a = KeyRepository(key_dir, reload_interval=0)
    node_a.initialize()
    clock = FakeClock()
    node_b = KeyRepository(key_dir, reload_interval=1.0, clock=clock)
    before = node_b.keys()
    assert before == node_a.keys()

    node_a.rotate()
    assert node_a.keys() != before  # the rotating node sees it at once
    clock.now += 0.5
    assert node_b.keys() == before  # still inside B's cache window
    clock.now += 0.6
    assert node_b.keys() == node_a.keys()


def test_staged_key_lets_a_stale_node_accept_tokens_from_the_new_primary(
    key_dir: Path,
) -> None:
    node_a = KeyRepository(key_dir, reload_interval=0)
    node_a.initialize()
    clock = FakeClock()
    node_b = KeyRepository(key_dir, reload_interval=1.0, clock=clock)
    node_b.keys()  # B caches the keys, then A rotates
    node_a.rotate()
    token = TokenFormatter(node_a).create(make_payload())
    # B has not re-read the directory, but it knew the new primary as key 0
    assert TokenFormatter(node_b).parse(token).methods == ("password",)


def test_rotation_by_another_process_is_picked_up(repo: KeyRepository, key_dir: Path) -> None:
    before = repo.keys()
    code = (
        "from pathlib import Path; from core.identity.fernet import KeyRepository;"
        f"KeyRepository(Path({str(key_dir)!r})).rotate()"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)
    after = repo.keys()
    assert after != before and after[0] == before[-1]  # staged became primary


def test_concurrent_create_and_parse_during_rotation(key_dir: Path) -> None:
    repo = KeyRepository(key_dir, max_active_keys=10, reload_interval=0)
    repo.initialize()
    formatter = TokenFormatter(repo)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(100):
                payload = make_payload()
                parsed = formatter.parse(formatter.create(payload))
                assert parsed.user_id == payload.user_id
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for _ in range(5):
        repo.rotate()
    for thread in threads:
        thread.join()
    assert errors == []


# -- token payloads ---------------------------------------------------------

ROUND_TRIPS = {
    "unscoped": {},
    "domain-uuid": {"domain_id": uuid.uuid4().hex},
    "domain-default": {"domain_id": "default"},
    "project-uuid": {"project_id": uuid.uuid4().hex},
    "project-non-hex-ids": {"user_id": "admin@ldap", "project_id": "demo-project"},
    "system": {"system": "all", "methods": ("token", "password")},
    "app-cred": {
        "project_id": uuid.uuid4().hex,
        "app_cred_id": uuid.uuid4().hex,
        "methods": ("application_credential",),
    },
    "app-cred-non-hex": {"project_id": "p1", "app_cred_id": "my-cred"},
    "dashed-uuid-kept-verbatim": {"user_id": str(uuid.uuid4())},
    "two-audit-ids": {"audit_ids": (new_audit_id(), new_audit_id())},
}


@pytest.mark.parametrize("overrides", ROUND_TRIPS.values(), ids=ROUND_TRIPS.keys())
def test_round_trip(formatter: TokenFormatter, overrides: dict[str, object]) -> None:
    payload = make_payload(**overrides)
    before = datetime.now(UTC).replace(microsecond=0)
    parsed = formatter.parse(formatter.create(payload))
    assert parsed.issued_at is not None
    assert before <= parsed.issued_at <= datetime.now(UTC)
    assert parsed.expires_at.tzinfo is not None
    assert parsed == dataclasses.replace(payload, issued_at=parsed.issued_at)


def test_methods_come_back_in_keystone_order(formatter: TokenFormatter) -> None:
    # keystone's convert_integer_to_method_list walks from the highest bit down
    payload = make_payload(methods=("password", "token", "external"))
    parsed = formatter.parse(formatter.create(payload))
    assert parsed.methods == ("token", "password", "external")


def test_project_token_has_keystone_layout(repo: KeyRepository, formatter: TokenFormatter) -> None:
    user, project, audit = uuid.uuid4(), uuid.uuid4(), new_audit_id()
    expires = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    token = formatter.create(
        make_payload(
            user_id=user.hex,
            project_id=project.hex,
            methods=("password", "token"),
            expires_at=expires,
            audit_ids=(audit,),
        )
    )
    assert "=" not in token
    assert decrypt_plain(repo, token) == [
        2,
        [True, user.bytes],
        0b110,  # password = 2, token = 4 with keystone's default [auth] methods
        [True, project.bytes],
        expires.timestamp(),
        [base64.urlsafe_b64decode(audit + "==")],
    ]


def test_domain_system_and_app_cred_layouts(repo: KeyRepository, formatter: TokenFormatter) -> None:
    domain = make_payload(user_id="ldap-user", domain_id="default")
    assert decrypt_plain(repo, formatter.create(domain))[1:4] == [
        [False, "ldap-user"],
        2,
        "default",  # the default domain id is packed as bare text
    ]
    domain_id = uuid.uuid4()
    hex_domain = make_payload(domain_id=domain_id.hex)
    assert decrypt_plain(repo, formatter.create(hex_domain))[3] == domain_id.bytes
    system = decrypt_plain(repo, formatter.create(make_payload(system="all")))
    assert system[0] == 8 and system[3] == "all"
    app = make_payload(project_id="p", app_cred_id="c", methods=("application_credential",))
    layout = decrypt_plain(repo, formatter.create(app))
    assert layout[0] == 9 and layout[2] == 32 and layout[3] == [False, "p"]
    assert layout[6] == [False, "c"]
    unscoped = decrypt_plain(repo, formatter.create(make_payload()))
    assert unscoped[0] == 0 and len(unscoped) == 5


def test_parses_token_packed_the_keystone_way(
    repo: KeyRepository, formatter: TokenFormatter
) -> None:
    user, project = uuid.uuid4(), uuid.uuid4()
    audit = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    packed = msgpack.packb(
        (
            2,
            (True, user.bytes),
            2,
            (True, project.bytes),
            1893553445.5,
            [base64.urlsafe_b64decode(audit + "==")],
        )
    )
    token = Fernet(repo.keys()[0]).encrypt(packed).rstrip(b"=").decode()
    parsed = formatter.parse(token)
    assert (parsed.user_id, parsed.project_id) == (user.hex, project.hex)
    assert parsed.methods == ("password",) and parsed.audit_ids == (audit,)
    assert parsed.expires_at == datetime(2030, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)


def test_project_token_length(formatter: TokenFormatter) -> None:
    token = formatter.create(make_payload(project_id=uuid.uuid4().hex))
    print(f"project-scoped token length: {len(token)}")
    assert len(token) <= 255  # keystone's max_token_size


# -- invalid tokens -----------------------------------------------------------


def _encrypt_raw(repo: KeyRepository, value: object, *, raw: bool = False) -> str:
    data = value if raw else msgpack.packb(value)
    return Fernet(repo.keys()[0]).encrypt(data).rstrip(b"=").decode()  # type: ignore[arg-type]


def _bad_tokens(repo: KeyRepository, token: str, tmp_path: Path) -> dict[str, object]:
    middle = len(token) // 2
    flipped = "A" if token[middle] != "A" else "B"
    other = KeyRepository(tmp_path / "other")
    other.initialize()
    audit = [os.urandom(16)]
    uid = [True, os.urandom(16)]
    return {
        "tampered": token[:middle] + flipped + token[middle + 1 :],
        "truncated": token[:-10],
        "one-char-short": token[:-1],
        "garbage": "not-a-token",
        "non-ascii": "tökén",
        "empty": "",
        "not-a-string": 12345,
        "huge": "A" * 100_000,
        "other-repository": TokenFormatter(other).create(make_payload()),
        "unknown-version": _encrypt_raw(repo, (3, uid, 2, uid, 1e9, audit, b"t" * 16)),
        "bool-version": _encrypt_raw(repo, (True, uid, 2, "default", 1e9, audit)),
        "short-payload": _encrypt_raw(repo, (2, uid, 2)),
        "not-a-list": _encrypt_raw(repo, {"version": 2}),
        "not-msgpack": _encrypt_raw(repo, b"\xc1\xc1\xc1", raw=True),
        "trailing-data": _encrypt_raw(repo, msgpack.packb(0) + b"\x00", raw=True),
        "unknown-method-bits": _encrypt_raw(repo, (0, uid, 1 << 9, 1e9, audit)),
        "bad-id-pair": _encrypt_raw(repo, (0, [True, b"short"], 2, 1e9, audit)),
        "bad-domain": _encrypt_raw(repo, (1, uid, 2, "other", 1e9, audit)),
        "bad-expiry": _encrypt_raw(repo, (0, uid, 2, "tomorrow", audit)),
        "huge-expiry": _encrypt_raw(repo, (0, uid, 2, 1e300, audit)),
        "audit-not-bytes": _encrypt_raw(repo, (0, uid, 2, 1e9, ["abc"])),
    }


def test_malformed_tokens_are_unauthorized(
    repo: KeyRepository, formatter: TokenFormatter, tmp_path: Path
) -> None:
    token = formatter.create(make_payload(project_id=uuid.uuid4().hex))
    for name, bad in _bad_tokens(repo, token, tmp_path).items():
        with pytest.raises(Unauthorized, match="^Invalid token.$"):
            formatter.parse(bad)  # type: ignore[arg-type]
            pytest.fail(f"{name} was accepted")


def test_token_survives_max_active_keys_minus_two_rotations(key_dir: Path) -> None:
    for max_active_keys in (3, 5):
        repo = KeyRepository(key_dir / str(max_active_keys), max_active_keys, reload_interval=0)
        repo.initialize()
        formatter = TokenFormatter(repo)
        token = formatter.create(make_payload())
        for _ in range(max_active_keys - 2):
            repo.rotate()
            formatter.parse(token)  # still valid
        repo.rotate()
        with pytest.raises(Unauthorized):
            formatter.parse(token)
        repo.rotate()  # and certainly after max_active_keys rotations
        with pytest.raises(Unauthorized):
            formatter.parse(token)


@pytest.mark.parametrize(
    "overrides",
    [
        {"expires_at": datetime(2030, 1, 1)},  # naive
        {"methods": ("password", "kerberos")},
        {"project_id": "p", "domain_id": "default"},
        {"system": "all", "project_id": "p"},
        {"app_cred_id": "c"},  # application credentials need a project
        {"domain_id": "not-a-uuid"},
        {"audit_ids": ("not-an-audit-id",)},
        {"user_id": ""},
    ],
)
def test_create_rejects_invalid_payloads(
    formatter: TokenFormatter, overrides: dict[str, object]
) -> None:
    with pytest.raises(ValueError):
        formatter.create(make_payload(**overrides))


def test_new_audit_id_is_22_urlsafe_chars() -> None:
    ids = {new_audit_id() for _ in range(100)}
    assert len(ids) == 100
    for audit_id in ids:
        assert len(audit_id) == 22
        assert len(base64.urlsafe_b64decode(audit_id + "==")) == 16


# -- secrets at rest ------------------------------------------------------------


def test_secret_cipher_round_trip_and_rotation(key_dir: Path) -> None:
    repo = KeyRepository(key_dir, reload_interval=0)
    repo.initialize()
    cipher = SecretCipher(repo)
    stored = cipher.encrypt("s3cr3t ünïcode")
    assert stored != "s3cr3t ünïcode"
    assert cipher.decrypt(stored) == "s3cr3t ünïcode"
    repo.rotate()
    assert cipher.decrypt(stored) == "s3cr3t ünïcode"  # still a secondary key
    migrated = cipher.reencrypt(stored)
    repo.rotate()  # purges the key that encrypted ``stored``
    with pytest.raises(CredentialDecryptionError):
        cipher.decrypt(stored)
    assert cipher.decrypt(migrated) == "s3cr3t ünïcode"


def test_secret_cipher_errors(repo: KeyRepository, tmp_path: Path) -> None:
    other = KeyRepository(tmp_path / "other")
    other.initialize()
    cipher = SecretCipher(repo)
    for bad in ("garbage", "", "tökén", SecretCipher(other).encrypt("x")):
        with pytest.raises(CredentialDecryptionError):
            cipher.decrypt(bad)
    assert issubclass(CredentialDecryptionError, ValueError)
    with pytest.raises(CredentialDecryptionError):
        cipher.reencrypt("garbage")
