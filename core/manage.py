"""Operator commands: ``python -m core.manage <command>``.

  migrate          bring the database schema up to date
  bootstrap        migrate, then create the default domain, roles, admin and
                   demo accounts, the catalog and client files (idempotent)
  fernet-rotate    rotate the token key repository (staged → primary)
  credential-rotate
                   rotate the credential key repository and re-encrypt every
                   stored credential secret under the new primary key
  fernet-setup     create the key repositories if missing
  policy-sample    print the full default policy (YAML, or --json)
"""

from __future__ import annotations

import argparse
import sys

from core.db import Database
from core.db.migrate import upgrade
from core.settings import Settings, load_settings


def cmd_migrate(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database.from_settings(settings)
    upgrade(db)
    db.dispose()


def cmd_bootstrap(settings: Settings, quiet: bool = False) -> None:
    from core.apis import SERVED_APIS
    from core.compute.bootstrap import ensure_default_flavors
    from core.identity.bootstrap import bootstrap
    from core.image.bootstrap import ensure_default_image
    from core.network.bootstrap import ensure_default_networks
    from core.services import build_core

    cmd_migrate(settings)
    core = build_core(settings)
    result = bootstrap(settings, core.identity, SERVED_APIS)
    ensure_default_image(core.images, result.admin_context)
    ensure_default_flavors(core.db)
    ensure_default_networks(core.db, settings, result.admin_context.project_id or "")
    core.bus.close()
    core.db.dispose()
    if not quiet:
        print_welcome(settings, result)


def print_welcome(settings: Settings, result) -> None:
    public = settings.effective_public_url
    data = settings.data_dir
    dns_line = (f"  DNS (A, PTR; udp/tcp)   {settings.dns_host}:{settings.dns_port}   "
                f"(dig -p {settings.dns_port} @{settings.dns_host} "
                f"SERVER.PROJECT.{settings.dns_domain})\n" if settings.run_dns else "")
    print(f"""
Nimbus is ready.

  Identity (Keystone v3)  {public}/identity
  Image (Glance v2)       {public}/image
  Compute (Nova v2.1)     {public}/compute/v2.1
  Network (Neutron v2.0)  {public}/networking
  Block Storage (Cinder v3) {public}/volume/v3
  EC2 (Query API)         {public}/ec2/
{dns_line}
  admin password          {result.admin_password}   (stored in {data}/admin-password)
  demo password           {result.demo_password}   (stored in {data}/demo-password)
  demo EC2 access key     {result.demo_ec2.access}

Use it with the OpenStack clients:
  export OS_CLIENT_CONFIG_FILE={result.clouds_yaml}
  openstack --os-cloud admin project list
  openstack --os-cloud demo token issue
  openstack --os-cloud demo server create --flavor m1.tiny --image nimbus-tiny --wait vm1

Use it with the AWS CLI or boto3 (endpoint {public}/ec2/, region {settings.region}):
  export AWS_CONFIG_FILE={result.aws_config} AWS_SHARED_CREDENTIALS_FILE={result.aws_credentials}
  aws --profile demo ec2 describe-availability-zones
""", flush=True)


def cmd_fernet_rotate(settings: Settings) -> None:
    from core.identity.fernet import KeyRepository

    repo = KeyRepository(settings.effective_key_repository, settings.max_active_keys)
    repo.initialize()
    repo.rotate()
    print(f"rotated {settings.effective_key_repository}")


def cmd_credential_rotate(settings: Settings) -> None:
    from sqlalchemy import select

    from core.identity.fernet import KeyRepository, SecretCipher
    from core.identity.models import Credential

    repo = KeyRepository(settings.effective_credential_key_repository, settings.max_active_keys)
    repo.initialize()
    repo.rotate()
    cipher = SecretCipher(repo)
    db = Database.from_settings(settings)
    with db.session() as s:
        rows = list(s.scalars(select(Credential)))
        for row in rows:
            row.encrypted_blob = cipher.reencrypt(row.encrypted_blob)
    db.dispose()
    print(f"rotated {settings.effective_credential_key_repository}; "
          f"re-encrypted {len(rows)} credentials")


def cmd_fernet_setup(settings: Settings) -> None:
    from core.identity.fernet import KeyRepository

    for path in (settings.effective_key_repository, settings.effective_credential_key_repository):
        KeyRepository(path, settings.max_active_keys).initialize()


def cmd_policy_sample(fmt: str) -> None:
    from core.policy.defaults import all_defaults
    from core.policy.sample import render_sample

    sys.stdout.write(render_sample(all_defaults(), fmt=fmt))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.manage", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate")
    boot = sub.add_parser("bootstrap")
    boot.add_argument("--quiet", action="store_true")
    sub.add_parser("fernet-rotate")
    sub.add_parser("credential-rotate")
    sub.add_parser("fernet-setup")
    sample = sub.add_parser("policy-sample")
    sample.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "policy-sample":
        cmd_policy_sample("json" if args.json else "yaml")
        return 0
    settings = load_settings()
    if args.command == "migrate":
        cmd_migrate(settings)
    elif args.command == "bootstrap":
        cmd_bootstrap(settings, quiet=args.quiet)
    elif args.command == "fernet-rotate":
        cmd_fernet_rotate(settings)
    elif args.command == "credential-rotate":
        cmd_credential_rotate(settings)
    elif args.command == "fernet-setup":
        cmd_fernet_setup(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
