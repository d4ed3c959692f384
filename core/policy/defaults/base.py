"""Base rules other rules refer to with ``rule:NAME``, as Keystone defines them.

``default`` has no fallback role in Nimbus (an unregistered operation name is a
programming error, an unknown ``rule:`` reference simply fails); it is kept so
policy files written for Keystone that refer to ``rule:default`` still work.
"""

from __future__ import annotations

from core.policy.defaults import RuleDefault

RULES: tuple[RuleDefault, ...] = (
    RuleDefault("admin_required", "role:admin or is_admin:1",
                "The caller has the admin role (on any project, domain or the system)."),
    RuleDefault("service_role", "role:service",
                "The caller is a service user (service-to-service calls)."),
    RuleDefault("service_or_admin", "rule:admin_required or rule:service_role",
                "The caller is an admin or a service user."),
    RuleDefault("owner", "user_id:%(user_id)s",
                "The caller is the user named by the target's user_id."),
    RuleDefault("admin_or_owner", "rule:admin_required or rule:owner",
                "The caller is an admin or the target's user."),
    RuleDefault("token_subject", "user_id:%(target.token.user_id)s",
                "The caller is the user the subject token was issued to."),
    RuleDefault("admin_or_token_subject", "rule:admin_required or rule:token_subject",
                "The caller is an admin or the subject token's user."),
    RuleDefault("service_admin_or_token_subject",
                "rule:service_or_admin or rule:token_subject",
                "The caller is a service user, an admin or the subject token's user."),
    RuleDefault("domain_managed_target_role",
                "'manager':%(target.role.name)s or 'member':%(target.role.name)s"
                " or 'reader':%(target.role.name)s",
                "The target role is one a domain manager may see and assign."),
    RuleDefault("context_is_admin", "role:admin",
                "Decides whether a request context is an administrator's (is_admin)."),
    RuleDefault("default", "rule:admin_required",
                "Kept for compatibility with Keystone policy files; not a fallback."),
)
