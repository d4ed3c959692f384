"""The identity services of one process, as one value."""

from __future__ import annotations

from dataclasses import dataclass

from core.identity.app_credentials import AppCredentialService
from core.identity.assignment import AssignmentService
from core.identity.catalog import CatalogService
from core.identity.ec2_credentials import Ec2CredentialService
from core.identity.fernet import KeyRepository
from core.identity.passwords import PasswordHasher
from core.identity.resource import ResourceService
from core.identity.role_assignments import RoleAssignmentLister
from core.identity.tokens import TokenService
from core.identity.users import UserService
from core.settings import Settings


@dataclass(frozen=True)
class IdentityService:
    """One instance of each identity service (built by ``core.services``);
    nothing global."""

    settings: Settings
    hasher: PasswordHasher
    token_keys: KeyRepository
    credential_keys: KeyRepository
    resources: ResourceService
    assignments: AssignmentService
    role_assignments: RoleAssignmentLister
    catalog: CatalogService
    tokens: TokenService
    users: UserService
    ec2: Ec2CredentialService
    app_credentials: AppCredentialService
