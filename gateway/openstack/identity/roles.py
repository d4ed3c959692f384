"""Roles, implied roles, grants and role assignments."""

from __future__ import annotations

from gateway.openstack.identity.base import NO_CONTENT, Handler


class Roles(Handler):
    def list(self):
        ctx = self.auth.context()
        rows = self.identity.assignments.list_roles(ctx, name=self.query("name"))
        return self.views.collection("roles", [self.views.role(r) for r in rows], "roles")

    def create(self, body: dict):
        ctx = self.auth.context()
        r = body["role"]
        role = self.identity.assignments.create_role(ctx, r["name"], r.get("description"),
                                                     r.get("id"))
        return {"role": self.views.role(role)}, 201

    def show(self, role_id: str):
        ctx = self.auth.context()
        return {"role": self.views.role(self.identity.assignments.get_role(ctx, role_id))}

    def update(self, role_id: str, body: dict):
        ctx = self.auth.context()
        return {"role": self.views.role(
            self.identity.assignments.update_role(ctx, role_id, body["role"]))}

    def delete(self, role_id: str):
        self.identity.assignments.delete_role(self.auth.context(), role_id)
        return NO_CONTENT

    # ---- implied roles ---------------------------------------------------
    def implies(self, prior_role_id: str):
        ctx = self.auth.context()
        prior, implied = self.identity.assignments.list_implied_roles(ctx, prior_role_id)
        return {"role_inference": self.views.implied_role(prior, implied),
                "links": {"self": f"{self.views.base}/roles/{prior_role_id}/implies"}}

    def create_implied(self, prior_role_id: str, implied_role_id: str):
        ctx = self.auth.context()
        prior, implied = self.identity.assignments.create_implied_role(
            ctx, prior_role_id, implied_role_id)
        return {"role_inference": {"prior_role": self.views.role_ref(prior),
                                   "implies": self.views.role_ref(implied)}}, 201

    def show_implied(self, prior_role_id: str, implied_role_id: str):
        ctx = self.auth.context()
        prior, implied = self.identity.assignments.get_implied_role(
            ctx, prior_role_id, implied_role_id)
        return {"role_inference": {"prior_role": self.views.role_ref(prior),
                                   "implies": self.views.role_ref(implied)}}

    def check_implied(self, prior_role_id: str, implied_role_id: str):
        ctx = self.auth.context()
        self.identity.assignments.get_implied_role(ctx, prior_role_id, implied_role_id,
                                                   rule="identity:check_implied_role")
        return NO_CONTENT

    def delete_implied(self, prior_role_id: str, implied_role_id: str):
        self.identity.assignments.delete_implied_role(self.auth.context(), prior_role_id,
                                                      implied_role_id)
        return NO_CONTENT

    def inference_rules(self):
        ctx = self.auth.context()
        rules = self.identity.assignments.list_role_inference_rules(ctx)
        return {"role_inferences": [self.views.implied_role(p, i) for p, i in rules],
                "links": {"self": f"{self.views.base}/role_inferences"}}


class Grants(Handler):
    """``/v3/{projects|domains}/{id}/{users|groups}/{id}/roles[/{role_id}]``."""

    @staticmethod
    def _scope(project_id=None, domain_id=None, user_id=None, group_id=None) -> dict:
        return {"project_id": project_id, "domain_id": domain_id, "user_id": user_id,
                "group_id": group_id}

    def list(self, **ids):
        ctx = self.auth.context()
        roles = self.identity.assignments.list_grants(ctx, **self._scope(**ids))
        scope = "projects/" + ids["project_id"] if ids.get("project_id") else \
            "domains/" + ids["domain_id"]
        actor = "users/" + ids["user_id"] if ids.get("user_id") else "groups/" + ids["group_id"]
        return self.views.collection("roles", [self.views.role(r) for r in roles],
                                     f"{scope}/{actor}/roles")

    def create(self, role_id: str, **ids):
        self.identity.assignments.create_grant(self.auth.context(), role_id,
                                               **self._scope(**ids))
        return NO_CONTENT

    def check(self, role_id: str, **ids):
        self.identity.assignments.check_grant(self.auth.context(), role_id,
                                              **self._scope(**ids))
        return NO_CONTENT

    def revoke(self, role_id: str, **ids):
        self.identity.assignments.revoke_grant(self.auth.context(), role_id,
                                               **self._scope(**ids))
        return NO_CONTENT


class RoleAssignments(Handler):
    def list(self):
        ctx = self.auth.context()
        rows = self.identity.role_assignments.list_assignments(
            ctx, user_id=self.query("user.id"), group_id=self.query("group.id"),
            role_id=self.query("role.id"), project_id=self.query("scope.project.id"),
            domain_id=self.query("scope.domain.id"),
            effective=bool(self.query_bool("effective")),
            include_names=bool(self.query_bool("include_names")))
        return self.views.collection("role_assignments",
                                     [self.views.role_assignment(a) for a in rows],
                                     "role_assignments")
