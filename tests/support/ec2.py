"""Helpers shared by the EC2 API tests: boto3 clients on the test server's
``/ec2/`` endpoint, EC2 credentials (the bootstrap's and new ones), the aws CLI,
EC2 error codes, the project a test works in, and a few describe shortcuts."""

from __future__ import annotations

import configparser
import os
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import ksa_session, unique
from tests.support.compute_api import Api
from tests.support.identity import IdentityAdmin
from tests.support.server import VENV_BIN, Server

if TYPE_CHECKING:
    from keystoneauth1.session import Session

REGION = "RegionOne"
# a waiter's config: poll every 100 ms for up to 120 s (botocore's 15 s between polls
# is for AWS; the in-process bus delivers in under a millisecond)
FAST = {"Delay": 0.1, "MaxAttempts": 1200}


# ---- clients and credentials ------------------------------------------------------

def endpoint_of(server: Server) -> str:
    return f"{server.url}/ec2/"


def client(endpoint: str, keys: tuple[str, str], **config):
    """A boto3 EC2 client that does not retry (so every error reaches the test)."""
    return boto3.client("ec2", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
                        config=Config(retries={"max_attempts": 1, "mode": "standard"},
                                      **config))


def bootstrap_keys(server: Server, profile: str = "demo") -> tuple[str, str]:
    """The EC2 credential the bootstrap wrote for the aws CLI under ``profile``."""
    creds = configparser.ConfigParser()
    creds.read(server.data_dir / "aws" / "credentials")
    return creds[profile]["aws_access_key_id"], creds[profile]["aws_secret_access_key"]


def new_credential(session: Session, identity_url: str) -> tuple[str, str]:
    """A new EC2 credential of the session's user for the session's project."""
    me = session.get_user_id()
    cred = session.post(f"{identity_url}/users/{me}/credentials/OS-EC2",
                        json={"tenant_id": session.get_project_id()}).json()["credential"]
    return cred["access"], cred["secret"]


def error(call, *args, **kwargs) -> tuple[str, int]:
    """The EC2 error code and HTTP status of a call that must fail."""
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# ---- the aws CLI --------------------------------------------------------------------

def aws_env(server: Server, **overrides: str) -> dict[str, str]:
    """The environment for the aws CLI: the bootstrap's config and credentials files,
    none of the caller's AWS_* variables, no stray files from the real home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(server.data_dir / "aws" / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(server.data_dir / "aws" / "credentials"),
               HOME=str(server.data_dir))
    env.update(overrides)
    return env


def aws(server: Server, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``aws --profile demo <args>``, as the bootstrap configured the profile."""
    proc = subprocess.run([str(VENV_BIN / "aws"), "--profile", "demo", *args],
                          capture_output=True, text=True, timeout=120, env=aws_env(server))
    if check and proc.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)}: {proc.stderr}")
    return proc


def aws_with_endpoint(server: Server, endpoint: str, *args: str,
                      keys: tuple[str, str] | None = None) -> subprocess.CompletedProcess:
    """``aws --endpoint-url <endpoint> ec2 <args> --output json`` with the demo
    credential (or ``keys``) and no config file; the caller checks the return code."""
    creds = ({"AWS_PROFILE": "demo"} if keys is None else
             {"AWS_ACCESS_KEY_ID": keys[0], "AWS_SECRET_ACCESS_KEY": keys[1]})
    env = aws_env(server, AWS_CONFIG_FILE=os.devnull, AWS_DEFAULT_REGION=REGION, **creds)
    return subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", endpoint, "ec2", *args,
                           "--output", "json"], capture_output=True, text=True, timeout=120,
                          env=env)


# ---- projects -----------------------------------------------------------------------

@dataclass
class Project:
    """A project with a member user: its compute API (and so its keystoneauth
    session), a boto3 EC2 client and the EC2 credential that client signs with."""

    id: str
    compute: Api
    ec2: Any
    keys: tuple[str, str]

    @property
    def session(self) -> Session:
        return self.compute.session

    @property
    def account(self) -> str:
        """The project's twelve-digit account id, as EC2 shows it: the owner of
        its default VPC."""
        (vpc,) = self.ec2.describe_vpcs(Filters=[{"Name": "is-default",
                                                  "Values": ["true"]}])["Vpcs"]
        return vpc["OwnerId"]

    def resource(self, endpoint: str):
        return boto3.resource("ec2", endpoint_url=endpoint, region_name=REGION,
                              aws_access_key_id=self.keys[0],
                              aws_secret_access_key=self.keys[1])


def new_project(server: Server, admin_session: Session, endpoint: str, prefix: str
                ) -> Project:
    """A new project with a member user and an EC2 credential of its own, for a
    module that makes VPCs and subnets: they would change where every other
    module's instances in ``demo`` launch (the project's own network first)."""
    identity = IdentityAdmin(server, admin_session, prefix)
    project = identity.new_project()
    user = identity.new_user("member", project["id"], "member")
    session = ksa_session(server, user.name, user.password, project["name"])
    keys = new_credential(session, identity.url)
    return Project(project["id"], Api(f"{server.url}/compute/v2.1", session),
                   client(endpoint, keys), keys)


def new_image(server: Server, session: Session, name: str | None = None,
              data: bytes | None = b"disk", **extra) -> str:
    """An image made through the OpenStack image API; uploaded unless data is None."""
    base = f"{server.url}/image/v2/images"
    body = {"name": name or unique("ami"), "disk_format": "raw", "container_format": "bare",
            **extra}
    image = session.post(base, json=body).json()
    if data is not None:
        session.put(f"{base}/{image['id']}/file", data=data,
                    headers={"Content-Type": "application/octet-stream"})
    return image["id"]


# ---- describe shortcuts ---------------------------------------------------------------

def instances(ec2, **kwargs) -> list[dict]:
    """DescribeInstances' instances, out of their reservations."""
    answer = ec2.describe_instances(**kwargs)
    return [i for r in answer["Reservations"] for i in r["Instances"]]


def ids_of(ec2, filters: list[dict]) -> set[str]:
    return {i["InstanceId"] for i in instances(ec2, Filters=filters)}
