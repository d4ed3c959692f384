"""The identity services, built once per process from settings."""

from __future__ import annotations

from core.db import Database
from core.identity.app_credentials import AppCredentialService
from core.identity.assignment import AssignmentService
from core.identity.catalog import CatalogService
from core.identity.common import PolicyEnforcer
from core.identity.ec2_credentials import Ec2CredentialService
from core.identity.fernet import DEFAULT_AUTH_METHODS, KeyRepository, SecretCipher, TokenFormatter
from core.identity.passwords import PasswordHasher
from core.identity.resource import ResourceService
from core.identity.role_assignments import RoleAssignmentLister
from core.identity.tokens import TokenService
from core.identity.users import UserService
from core.settings import Settings


class IdentityService:
    """Holds one instance of each identity service; nothing global."""

    def __init__(self, settings: Settings, db: Database, policy: PolicyEnforcer) -> None:
        self.settings = settings
        self.hasher = PasswordHasher(settings.bcrypt_rounds)
        self.token_keys = KeyRepository(settings.effective_key_repository,
                                        settings.max_active_keys)
        self.credential_keys = KeyRepository(settings.effective_credential_key_repository,
                                             settings.max_active_keys)
        self.token_keys.initialize()
        self.credential_keys.initialize()
        self.resources = ResourceService(db, policy)
        self.assignments = AssignmentService(db, policy)
        self.role_assignments = RoleAssignmentLister(db, policy, self.assignments)
        self.catalog = CatalogService(db, policy)
        # Keystone's method bitmask, plus the marker it gives tokens minted from
        # EC2 signatures; every node must use the same list.
        formatter = TokenFormatter(self.token_keys,
                                   auth_methods=(*DEFAULT_AUTH_METHODS, "ec2credential"))
        self.tokens = TokenService(db, policy, formatter, self.hasher,
                                   self.assignments, settings.token_expiration)
        self.users = UserService(db, policy, self.hasher, self.resources,
                                 self.tokens.revoke_user)
        self.ec2 = Ec2CredentialService(db, policy, SecretCipher(self.credential_keys),
                                        self.tokens, settings.ec2_auth_ttl)
        self.app_credentials = AppCredentialService(db, policy, self.hasher)
