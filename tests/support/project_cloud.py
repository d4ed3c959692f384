"""A project of a test module's own, reachable by the real `openstack` CLI and
openstacksdk as a cloud of its own clouds.yaml. Networking tests work in
such projects: a network with a subnet in a shared project (demo) would
become the network every other test's server boots on when it names none
(Nova's rule: the project's own network first)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.identity import IdentityAdmin


@dataclass
class ProjectCloud:
    cloud: str  # its name in ``clouds_yaml``
    clouds_yaml: Path
    project_id: str
    project_name: str
    user_id: str

    @property
    def env(self) -> dict[str, str]:
        """The environment the CLI needs for this cloud (``cli.run(..., env=...)``)."""
        return {"OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml)}

    def connection(self) -> Any:
        import openstack.config
        import openstack.connection

        config = openstack.config.OpenStackConfig(config_files=[str(self.clouds_yaml)],
                                                  vendor_files=[], secure_files=[])
        return openstack.connection.Connection(config=config.get_one(cloud=self.cloud))

    def osc(self, cli: Any) -> ProjectCli:
        """The real ``openstack`` CLI (the session's ``cli`` fixture) as this cloud."""
        return ProjectCli(cli, self)


@dataclass
class ProjectCli:
    """``cli.run`` / ``cli.json`` with the project's cloud and clouds.yaml filled in."""

    cli: Any
    project: ProjectCloud

    def run(self, *args: str, check: bool = True) -> Any:
        return self.cli.run(self.project.cloud, *args, check=check, env=self.project.env)

    def json(self, *args: str) -> Any:
        return self.cli.json(self.project.cloud, *args, env=self.project.env)


def project_cloud(server: Any, admin_session: Any, folder: Path, prefix: str,
                  role: str = "member") -> ProjectCloud:
    """A new project with a user holding ``role`` on it, written as cloud
    ``prefix`` into a copy of the server's clouds.yaml in ``folder``."""
    identity = IdentityAdmin(server, admin_session, prefix=prefix)
    project = identity.new_project()
    user = identity.new_user(role, project["id"], role)
    clouds = yaml.safe_load(server.clouds_yaml.read_text())
    base = dict(clouds["clouds"]["demo"])
    auth = dict(base["auth"])
    auth.update(username=user.name, password=user.password, project_name=project["name"])
    auth.pop("project_id", None)
    base["auth"] = auth
    clouds["clouds"][prefix] = base
    path = folder / "clouds.yaml"
    path.write_text(yaml.safe_dump(clouds))
    return ProjectCloud(prefix, path, project["id"], project["name"], user.id)
