"""Users, their password, projects and groups; groups and membership."""

from __future__ import annotations

from gateway.openstack.identity.base import NO_CONTENT, Handler

USER_FIELDS = {"name", "domain_id", "password", "enabled", "default_project_id",
               "description", "email", "options", "federated"}


class Users(Handler):
    def list(self):
        ctx = self.auth.context()
        rows = self.identity.users.list_users(ctx, name=self.query("name"),
                                              domain_id=self.query("domain_id"),
                                              enabled=self.query_bool("enabled"))
        return self.views.collection("users", [self.views.user(u) for u in rows], "users")

    def create(self, body: dict):
        ctx = self.auth.context()
        u = body["user"]
        extra = {k: v for k, v in u.items() if k not in USER_FIELDS}
        user = self.identity.users.create_user(
            ctx, u["name"], domain_id=u.get("domain_id"), password=u.get("password"),
            enabled=u.get("enabled", True), default_project_id=u.get("default_project_id"),
            description=u.get("description"), email=u.get("email"), extra=extra)
        return {"user": self.views.user(user)}, 201

    def show(self, user_id: str):
        ctx = self.auth.context()
        return {"user": self.views.user(self.identity.users.get_user(ctx, user_id))}

    def update(self, user_id: str, body: dict):
        ctx = self.auth.context()
        u = dict(body["user"])
        extra = {k: u.pop(k) for k in list(u) if k not in USER_FIELDS}
        if extra:
            u["extra"] = extra
        return {"user": self.views.user(self.identity.users.update_user(ctx, user_id, u))}

    def delete(self, user_id: str):
        self.identity.users.delete_user(self.auth.context(), user_id)
        return NO_CONTENT

    def change_password(self, user_id: str, body: dict):
        ctx = self.auth.context()
        u = body["user"]
        self.identity.users.change_password(ctx, user_id, u["original_password"], u["password"])
        return NO_CONTENT

    def projects(self, user_id: str):
        ctx = self.auth.context()
        rows = self.identity.assignments.list_user_projects(ctx, user_id)
        return self.views.collection("projects", [self.views.project(p) for p in rows],
                                     f"users/{user_id}/projects")

    def groups(self, user_id: str):
        ctx = self.auth.context()
        rows = self.identity.users.list_groups_for_user(ctx, user_id)
        return self.views.collection("groups", [self.views.group(g) for g in rows],
                                     f"users/{user_id}/groups")


class Groups(Handler):
    def list(self):
        ctx = self.auth.context()
        rows = self.identity.users.list_groups(ctx, name=self.query("name"),
                                               domain_id=self.query("domain_id"))
        return self.views.collection("groups", [self.views.group(g) for g in rows], "groups")

    def create(self, body: dict):
        ctx = self.auth.context()
        g = body["group"]
        group = self.identity.users.create_group(ctx, g["name"], g.get("domain_id"),
                                                 g.get("description"))
        return {"group": self.views.group(group)}, 201

    def show(self, group_id: str):
        ctx = self.auth.context()
        return {"group": self.views.group(self.identity.users.get_group(ctx, group_id))}

    def update(self, group_id: str, body: dict):
        ctx = self.auth.context()
        return {"group": self.views.group(
            self.identity.users.update_group(ctx, group_id, body["group"]))}

    def delete(self, group_id: str):
        self.identity.users.delete_group(self.auth.context(), group_id)
        return NO_CONTENT

    def users(self, group_id: str):
        ctx = self.auth.context()
        rows = self.identity.users.list_users_in_group(ctx, group_id)
        return self.views.collection("users", [self.views.user(u) for u in rows],
                                     f"groups/{group_id}/users")

    def add_user(self, group_id: str, user_id: str):
        self.identity.users.add_user_to_group(self.auth.context(), group_id, user_id)
        return NO_CONTENT

    def check_user(self, group_id: str, user_id: str):
        self.identity.users.check_user_in_group(self.auth.context(), group_id, user_id)
        return NO_CONTENT

    def remove_user(self, group_id: str, user_id: str):
        self.identity.users.remove_user_from_group(self.auth.context(), group_id, user_id)
        return NO_CONTENT
