"""Domains and projects."""

from __future__ import annotations

from gateway.openstack.identity.base import NO_CONTENT, Handler

PROJECT_FIELDS = {"name", "domain_id", "description", "enabled", "parent_id", "tags",
                  "is_domain", "options"}


class Domains(Handler):
    def list(self):
        ctx = self.auth.context()
        rows = self.identity.resources.list_domains(ctx, name=self.query("name"),
                                                    enabled=self.query_bool("enabled"))
        return self.views.collection("domains", [self.views.domain(d) for d in rows], "domains")

    def create(self, body: dict):
        ctx = self.auth.context()
        d = body["domain"]
        dom = self.identity.resources.create_domain(ctx, d["name"], d.get("description"),
                                                    d.get("enabled", True), d.get("id"))
        return {"domain": self.views.domain(dom)}, 201

    def show(self, domain_id: str):
        ctx = self.auth.context()
        return {"domain": self.views.domain(self.identity.resources.get_domain(ctx, domain_id))}

    def update(self, domain_id: str, body: dict):
        ctx = self.auth.context()
        dom = self.identity.resources.update_domain(ctx, domain_id, body["domain"])
        return {"domain": self.views.domain(dom)}

    def delete(self, domain_id: str):
        self.identity.resources.delete_domain(self.auth.context(), domain_id)
        return NO_CONTENT


class Projects(Handler):
    def list(self):
        ctx = self.auth.context()
        rows = self.identity.resources.list_projects(
            ctx, name=self.query("name"), domain_id=self.query("domain_id"),
            enabled=self.query_bool("enabled"), parent_id=self.query("parent_id"))
        return self.views.collection("projects", [self.views.project(p) for p in rows],
                                     "projects")

    def create(self, body: dict):
        ctx = self.auth.context()
        p = body["project"]
        extra = {k: v for k, v in p.items() if k not in PROJECT_FIELDS}
        project = self.identity.resources.create_project(
            ctx, p["name"], domain_id=p.get("domain_id"), description=p.get("description"),
            enabled=p.get("enabled", True), parent_id=p.get("parent_id"),
            tags=p.get("tags"), extra=extra)
        return {"project": self.views.project(project)}, 201

    def show(self, project_id: str):
        ctx = self.auth.context()
        return {"project": self.views.project(
            self.identity.resources.get_project(ctx, project_id))}

    def update(self, project_id: str, body: dict):
        ctx = self.auth.context()
        p = dict(body["project"])
        extra = {k: p.pop(k) for k in list(p) if k not in PROJECT_FIELDS}
        if extra:
            p["extra"] = extra
        project = self.identity.resources.update_project(ctx, project_id, p)
        return {"project": self.views.project(project)}

    def delete(self, project_id: str):
        self.identity.resources.delete_project(self.auth.context(), project_id)
        return NO_CONTENT
