"""First-start bootstrap: default domain, roles, admin and demo accounts, the
service catalog, and client configuration files. Idempotent."""

from __future__ import annotations

import configparser
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import yaml
from sqlalchemy import select

from core.apis import ApiService
from core.context import RequestContext
from core.identity.ec2_credentials import Ec2Credential
from core.identity.models import Assignment, Domain, ImpliedRole, Project, Role, User
from core.identity.resource import DEFAULT_DOMAIN_ID
from core.identity.service import IdentityService
from core.settings import Settings

ROLES = ("admin", "member", "reader")
IMPLIED = (("admin", "member"), ("member", "reader"))


@dataclass(frozen=True)
class BootstrapResult:
    admin_password: str
    demo_password: str
    demo_ec2: Ec2Credential
    clouds_yaml: Path
    aws_config: Path
    aws_credentials: Path
    admin_context: RequestContext  # for bootstrap steps of other services


def _secret_file(path: Path, given: str | None) -> str:
    """The stored secret, or ``given`` (stored), or a new one (stored)."""
    if given:
        value = given
    elif path.exists():
        return path.read_text().strip()
    else:
        value = secrets.token_urlsafe(18)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def bootstrap(settings: Settings, identity: IdentityService,
              services: Iterable[ApiService]) -> BootstrapResult:
    data = settings.data_dir
    admin_pw = _secret_file(data / "admin-password", settings.admin_password)
    demo_pw = _secret_file(data / "demo-password", None)
    db = identity.resources.db
    hasher = identity.hasher
    with db.session() as s:
        if s.get(Domain, DEFAULT_DOMAIN_ID) is None:
            s.add(Domain(id=DEFAULT_DOMAIN_ID, name="Default", enabled=True,
                         description="The default domain"))
            s.flush()
        roles = {}
        for name in ROLES:
            role = s.scalar(select(Role).where(Role.name == name))
            if role is None:
                role = Role(name=name)
                s.add(role)
                s.flush()
            roles[name] = role
        for prior, implied in IMPLIED:
            if s.get(ImpliedRole, (roles[prior].id, roles[implied].id)) is None:
                s.add(ImpliedRole(prior_role_id=roles[prior].id,
                                  implied_role_id=roles[implied].id))

        def account(name: str, password: str, role: str, reset: bool) -> tuple[User, Project]:
            project = s.scalar(select(Project).where(Project.name == name,
                                                     Project.domain_id == DEFAULT_DOMAIN_ID))
            if project is None:
                project = Project(name=name, domain_id=DEFAULT_DOMAIN_ID, enabled=True,
                                  description=f"Bootstrap project {name}", tags=[], extra={})
                s.add(project)
                s.flush()
            user = s.scalar(select(User).where(User.name == name,
                                               User.domain_id == DEFAULT_DOMAIN_ID))
            if user is None:
                user = User(name=name, domain_id=DEFAULT_DOMAIN_ID, enabled=True,
                            password_hash=hasher.hash(password), default_project_id=project.id,
                            extra={})
                s.add(user)
                s.flush()
            elif reset and not hasher.verify(password, user.password_hash):
                user.password_hash = hasher.hash(password)
            key = ("UserProject", user.id, project.id, roles[role].id)
            if s.get(Assignment, key) is None:
                s.add(Assignment(type=key[0], actor_id=key[1], target_id=key[2],
                                 role_id=key[3]))
            return user, project

        account("admin", admin_pw, "admin", reset=bool(settings.admin_password))
        demo_user, demo_project = account("demo", demo_pw, "member", reset=False)
        demo_user_id, demo_project_id = demo_user.id, demo_project.id
    ec2 = (identity.ec2.first_for_user(demo_user_id)
           or identity.ec2.store(demo_user_id, demo_project_id))
    public = settings.effective_public_url
    for svc in services:
        identity.catalog.ensure_service(svc.type, svc.name, public + svc.path, settings.region)
    # Other services' bootstrap steps act as the admin, through a real token.
    token = identity.tokens.authenticate({
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": DEFAULT_DOMAIN_ID}, "password": admin_pw}}},
        "scope": {"project": {"name": "admin", "domain": {"id": DEFAULT_DOMAIN_ID}}}})
    clouds, aws_config, aws_credentials = _write_client_files(settings, admin_pw, demo_pw, ec2)
    return BootstrapResult(admin_pw, demo_pw, ec2, clouds, aws_config, aws_credentials,
                           admin_context=token.context(is_admin=True))



def _write_client_files(settings: Settings, admin_pw: str, demo_pw: str,
                        ec2: Ec2Credential) -> tuple[Path, Path, Path]:
    public = settings.effective_public_url

    def cloud(name: str, password: str) -> dict:
        return {"auth": {"auth_url": f"{public}/identity", "username": name,
                         "password": password, "project_name": name,
                         "user_domain_name": "Default", "project_domain_name": "Default"},
                "region_name": settings.region, "identity_api_version": 3,
                "interface": "public"}

    clouds = settings.data_dir / "clouds.yaml"
    _write_private(clouds, yaml.safe_dump(
        {"clouds": {"admin": cloud("admin", admin_pw), "demo": cloud("demo", demo_pw)}},
        sort_keys=False))
    config = configparser.ConfigParser()
    # aws CLI v1 would fetch an argument that looks like a URL (RegisterImage's
    # --image-location) and send the document instead of the URL.
    config["profile demo"] = {"region": settings.region, "output": "json",
                              "endpoint_url": f"{public}/ec2/",
                              "cli_follow_urlparam": "false"}
    creds = configparser.ConfigParser()
    creds["demo"] = {"aws_access_key_id": ec2.access, "aws_secret_access_key": ec2.secret}
    aws_config = settings.data_dir / "aws" / "config"
    aws_credentials = settings.data_dir / "aws" / "credentials"
    for path, parser in ((aws_config, config), (aws_credentials, creds)):
        buf = StringIO()
        parser.write(buf)
        _write_private(path, buf.getvalue())
    return clouds, aws_config, aws_credentials
