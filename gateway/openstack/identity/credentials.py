"""EC2 credentials and application credentials of a user."""

from __future__ import annotations

from datetime import datetime

from core import errors
from core.clock import parse_timestamp
from gateway.openstack.identity.base import NO_CONTENT, Handler


class Ec2Credentials(Handler):
    def list(self, user_id: str):
        creds = self.identity.ec2.list(self.auth.context(), user_id)
        return self.views.collection("credentials",
                                     [self.views.ec2_credential(c) for c in creds],
                                     f"users/{user_id}/credentials/OS-EC2")

    def create(self, user_id: str, body: dict):
        ctx = self.auth.context()
        project_id = body.get("tenant_id") or body.get("project_id") or ctx.project_id
        if not project_id:
            raise errors.InvalidInput("Expecting to find tenant_id in the request body.")
        cred = self.identity.ec2.create(ctx, user_id, project_id)
        return {"credential": self.views.ec2_credential(cred)}, 201

    def show(self, user_id: str, credential_id: str):
        cred = self.identity.ec2.get(self.auth.context(), user_id, credential_id)
        return {"credential": self.views.ec2_credential(cred)}

    def delete(self, user_id: str, credential_id: str):
        self.identity.ec2.delete(self.auth.context(), user_id, credential_id)
        return NO_CONTENT


def _parse_expiry(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise errors.InvalidInput(f"Invalid expires_at: {value!r}.") from None


class AppCredentials(Handler):
    def list(self, user_id: str):
        service = self.identity.app_credentials
        creds = service.list(self.auth.context(), user_id, name=self.query("name"))
        return self.views.collection(
            "application_credentials",
            [self.views.app_credential(c, service.roles_of(c)) for c in creds],
            f"users/{user_id}/application_credentials")

    def create(self, user_id: str, body: dict):
        a = body["application_credential"]
        cred, secret, roles = self.identity.app_credentials.create(
            self.auth.context(), user_id, a["name"], description=a.get("description"),
            secret=a.get("secret"), expires_at=_parse_expiry(a.get("expires_at")),
            roles=a.get("roles"), unrestricted=bool(a.get("unrestricted", False)))
        return {"application_credential": self.views.app_credential(cred, roles, secret)}, 201

    def show(self, user_id: str, application_credential_id: str):
        service = self.identity.app_credentials
        cred = service.get(self.auth.context(), user_id, application_credential_id)
        return {"application_credential": self.views.app_credential(cred,
                                                                    service.roles_of(cred))}

    def delete(self, user_id: str, application_credential_id: str):
        self.identity.app_credentials.delete(self.auth.context(), user_id,
                                             application_credential_id)
        return NO_CONTENT
