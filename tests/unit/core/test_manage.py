"""The operator commands: bootstrap, key rotation, policy sample."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from core.db import Database
from core.identity.service import IdentityService
from core.policy import Enforcer
from core.policy.defaults import all_defaults
from core.services import build_identity
from core.settings import load_settings

ROOT = Path(__file__).resolve().parents[3]


def _manage(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {"PATH": "/usr/bin:/bin", "NIMBUS_DATA_DIR": str(data_dir),
               "NIMBUS_BCRYPT_ROUNDS": "4", "NIMBUS_PORT": "18999", **env}
    return subprocess.run([sys.executable, "-m", "core.manage", *args], cwd=ROOT,
                          env=environ, capture_output=True, text=True, check=True)


def _identity(data_dir: Path) -> IdentityService:
    settings = load_settings({}, data_dir=data_dir, bcrypt_rounds=4)
    db = Database(settings.effective_database_url)
    return build_identity(settings, db, Enforcer(all_defaults(), None))


def _login(identity: IdentityService, user: str, password: str):
    return identity.tokens.authenticate({"identity": {"methods": ["password"], "password": {
        "user": {"name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": user, "domain": {"id": "default"}}}})


def test_bootstrap_is_idempotent_and_writes_client_files(tmp_path):
    first = _manage(tmp_path, "bootstrap")
    assert "Nimbus is ready" in first.stdout
    files = {p: p.read_bytes() for p in (tmp_path / "clouds.yaml", tmp_path / "aws" / "config",
                                         tmp_path / "aws" / "credentials")}
    for path in files:
        assert path.stat().st_mode & 0o077 == 0, f"{path} must be private"
    _manage(tmp_path, "bootstrap", "--quiet")
    assert {p: p.read_bytes() for p in files} == files
    clouds = yaml.safe_load((tmp_path / "clouds.yaml").read_text())["clouds"]
    assert set(clouds) == {"admin", "demo"}
    assert clouds["admin"]["auth"]["auth_url"] == "http://127.0.0.1:18999/identity"
    identity = _identity(tmp_path)
    admin = _login(identity, "admin", clouds["admin"]["auth"]["password"])
    assert sorted(r.name for r in admin.roles) == ["admin", "member", "reader"]
    demo = _login(identity, "demo", clouds["demo"]["auth"]["password"])
    assert sorted(r.name for r in demo.roles) == ["member", "reader"]
    assert [c.type for c in identity.catalog.list_services(admin.context())] == [
        "block-storage", "compute", "ec2", "identity", "image", "network"]


def test_admin_password_from_the_environment(tmp_path):
    _manage(tmp_path, "bootstrap", "--quiet", NIMBUS_ADMIN_PASSWORD="chosen-one")
    assert (tmp_path / "admin-password").read_text().strip() == "chosen-one"
    _login(_identity(tmp_path), "admin", "chosen-one")
    # a later bootstrap with a new password resets it, as keystone-manage does
    _manage(tmp_path, "bootstrap", "--quiet", NIMBUS_ADMIN_PASSWORD="second")
    _login(_identity(tmp_path), "admin", "second")


def test_fernet_rotation_keeps_recent_tokens_valid(tmp_path):
    _manage(tmp_path, "bootstrap", "--quiet")
    password = (tmp_path / "admin-password").read_text().strip()
    token = _login(_identity(tmp_path), "admin", password)
    _manage(tmp_path, "fernet-rotate")
    assert _identity(tmp_path).tokens.validate(token.id).user.name == "admin"
    _manage(tmp_path, "fernet-rotate")
    identity = _identity(tmp_path)
    try:
        identity.tokens.validate(token.id)
        raise AssertionError("a token two rotations old must be invalid with 3 keys")
    except Exception as exc:  # Unauthorized
        assert type(exc).__name__ == "Unauthorized"


def test_credential_rotation_re_encrypts_ec2_secrets(tmp_path):
    _manage(tmp_path, "bootstrap", "--quiet")
    import configparser

    creds = configparser.ConfigParser()
    creds.read(tmp_path / "aws" / "credentials")
    access = creds["demo"]["aws_access_key_id"]
    secret = creds["demo"]["aws_secret_access_key"]
    for _ in range(4):  # more rotations than active keys: old keys are gone
        out = _manage(tmp_path, "credential-rotate").stdout
        assert "re-encrypted 1 credentials" in out
    assert _identity(tmp_path).ec2.resolve(access).secret == secret


def test_policy_sample_lists_every_rule(tmp_path):
    sample = yaml.safe_load(_manage(tmp_path, "policy-sample").stdout)
    assert set(sample) == {r.name for r in all_defaults()}
    as_json = json.loads(_manage(tmp_path, "policy-sample", "--json").stdout)
    assert as_json == sample
