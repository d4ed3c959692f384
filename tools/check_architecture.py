#!/usr/bin/env python3
"""The structure held against the design's rules, read from the imports.

Run from the project root (``make lint`` does): ``python tools/check_architecture.py``.
Imports count wherever they are: at module level, inside functions and under
``TYPE_CHECKING`` (a package that names another for its types knows it).

Rules (docs/architecture.md says why):
  1. core/ never imports gateway/, flask, connexion or starlette.
  2. every core package has a layer in LAYERS and imports only packages of
     lower layers; so no two core packages import each other, even through
     others (a circle is reported as such).
  3. the agents (core/agent, core/volume/agent*) reach no database code
     (core.db, sqlalchemy, any *.models module), even transitively.
  4. core/policy reaches no database code.
  5. gateway/ imports no SQL machinery (core.db, sqlalchemy): it calls core
     services, whose records (the models' rows) it may read as domain objects.
  6. no module in core/ or gateway/ is over 500 lines.
  7. gateway/ec2 names at most 5 '.NotFound' codes outside its one error table
     (gateway/ec2/errors.py): core errors carry their kind, the table maps it.
Prints one line per break and a summary last; exits 1 when any rule breaks.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from collections import defaultdict
from collections.abc import Iterable

MAX_LINES = 500
MAX_HAND_NOT_FOUND = 5

# Lower layers know nothing of higher ones. A new package gets a layer here.
LAYERS: dict[str, int] = {
    # the ground: values, errors, settings, the clock, logging
    "errors": 0, "context": 0, "settings": 0, "clock": 0, "log": 0, "apis": 0, "extra_specs": 0,
    "service_main": 0, "metrics": 0, "numbers": 0,
    # storage, the policy language, the bus; the extra specs Nova accepts (2.86)
    "db": 1, "policy": 1, "messaging": 1, "extra_spec_validation": 1,
    # domains every other one may use
    "identity": 2, "idmap": 2, "quota": 2, "placement": 2,
    "image": 3, "network": 3,
    # block storage (its scheduler and agents are its own processes, on the bus)
    "volume": 4, "vpc": 4,
    # compute attaches volumes
    "compute": 5,
    # above compute: the cross-kind tagging, the DNS responder, the compute agent
    "tagging": 6, "dns": 6, "agent": 6,
    # the one builder of the core services
    "services": 7,
    # processes and commands assembled from it
    "scheduler": 8, "manage": 8,
    "conductor": 9,
    "control_plane": 10,
}
WEB = re.compile(r"^(gateway|flask|connexion|starlette)(\.|$)")


def module_name(root: str, path: str) -> str:
    rel = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
    return rel[:-9] if rel.endswith(".__init__") else rel


def imports_of(root: str, path: str) -> set[str]:
    """Every module name ``path`` imports (``from a import b`` gives a and a.b)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    name = module_name(root, path)
    package = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


def modules(root: str) -> dict[str, str]:
    found = {}
    for top in ("core", "gateway"):
        for folder, _, files in os.walk(os.path.join(root, top)):
            if "migrations" in folder:
                continue
            for f in files:
                if f.endswith(".py"):
                    path = os.path.join(folder, f)
                    found[module_name(root, path)] = path
    return found


def is_database_code(name: str) -> bool:
    return (name == "core.db" or name.startswith("core.db.") or name.endswith(".models")
            or name.split(".")[0] == "sqlalchemy")


class Checker:
    def __init__(self, root: str) -> None:
        self.root = root
        self.mods = modules(root)
        self.graph = {m: imports_of(root, p) for m, p in self.mods.items()}
        self.fails: list[str] = []

    def core_package(self, name: str) -> str | None:
        parts = name.split(".")
        if len(parts) > 1 and parts[0] == "core" and f"core.{parts[1]}" in self.mods:
            return parts[1]
        return None

    def package_edges(self) -> dict[str, set[str]]:
        edges: dict[str, set[str]] = defaultdict(set)
        for m, deps in self.graph.items():
            a = self.core_package(m)
            if a is None:
                continue
            for d in deps:
                b = self.core_package(d)
                if b and b != a:
                    edges[a].add(b)
        return edges

    # ---- the rules ---------------------------------------------------------
    def core_stays_inward(self) -> None:
        for m, deps in sorted(self.graph.items()):
            if m.startswith("core"):
                bad = sorted(d for d in deps if WEB.match(d))
                if bad:
                    self.fails.append(f"{m} imports {bad[0]}")

    def layers_hold(self, edges: dict[str, set[str]]) -> None:
        for pkg in sorted({self.core_package(m) for m in self.mods} - {None}):
            if pkg not in LAYERS:
                self.fails.append(f"core/{pkg} has no layer (add it to LAYERS)")
        for a, targets in sorted(edges.items()):
            for b in sorted(targets):
                if a in LAYERS and b in LAYERS and LAYERS[b] >= LAYERS[a]:
                    self.fails.append(f"core/{a} (layer {LAYERS[a]}) imports core/{b} "
                                      f"(layer {LAYERS[b]})")
        for group in circles(edges):
            self.fails.append("core packages import each other in a circle: " +
                              ", ".join(group))

    def reach(self, prefix: str) -> tuple[set[str], set[str]]:
        """Project modules reachable from ``prefix``'s, and the outside names they import."""
        seen: set[str] = set()
        outside: set[str] = set()
        todo = [m for m in self.mods if m == prefix or m.startswith(prefix + ".")]
        while todo:
            m = todo.pop()
            if m in seen:
                continue
            seen.add(m)
            for d in self.graph.get(m, ()):
                (todo.append(d) if d in self.mods else outside.add(d))
        return seen, outside

    def no_database_below(self, prefix: str, label: str) -> None:
        if not any(m == prefix or m.startswith(prefix + ".") for m in self.mods):
            return
        seen, outside = self.reach(prefix)
        found = sorted(m for m in seen | outside if is_database_code(m))
        if found:
            self.fails.append(f"{label} reaches database code: {found[0]}")

    def gateway_knows_no_sql(self) -> None:
        for m, deps in sorted(self.graph.items()):
            if m.startswith("gateway"):
                bad = sorted(d for d in deps if d == "core.db" or d.startswith("core.db.")
                             or d.split(".")[0] == "sqlalchemy")
                if bad:
                    self.fails.append(f"{m} imports SQL machinery: {bad[0]}")

    def modules_stay_small(self) -> tuple[int, str]:
        largest = (0, "-")
        for m, path in sorted(self.mods.items()):
            with open(path, encoding="utf-8") as f:
                lines = sum(1 for _ in f)
            largest = max(largest, (lines, m))
            if lines > MAX_LINES:
                self.fails.append(f"{m} has {lines} lines (> {MAX_LINES})")
        return largest

    def ec2_codes_in_one_table(self) -> int:
        folder = os.path.join(self.root, "gateway", "ec2")
        hand = 0
        for d, _, files in os.walk(folder):
            for f in files:
                if f.endswith(".py") and not (d == folder and f == "errors.py"):
                    with open(os.path.join(d, f), encoding="utf-8") as src:
                        hand += len(re.findall(r"\.NotFound[\"']", src.read()))
        if hand > MAX_HAND_NOT_FOUND:
            self.fails.append(f"gateway/ec2 names {hand} NotFound codes outside errors.py "
                              f"(> {MAX_HAND_NOT_FOUND})")
        return hand

    def run(self) -> str:
        if not self.mods:
            self.fails.append("no core/ or gateway/ modules found: run from the project root")
            return "nothing read"
        edges = self.package_edges()
        self.core_stays_inward()
        self.layers_hold(edges)
        agents = ["core.agent"] + sorted({m.rsplit(".", 1)[0] if m.count(".") > 2 else m
                                          for m in self.mods
                                          if m.startswith("core.volume.agent")})
        for prefix in agents:
            self.no_database_below(prefix, prefix.replace("core.", "") + " agent"
                                   if "volume" in prefix else "agent")
        self.no_database_below("core.policy", "policy")
        self.gateway_knows_no_sql()
        lines, largest = self.modules_stay_small()
        hand = self.ec2_codes_in_one_table()
        return (f"{len(self.fails)} rule breaks; core package edges "
                f"{sum(len(v) for v in edges.values())}; largest module {largest} "
                f"{lines} lines; hand NotFound {hand}")


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of packages (Tarjan): each is a circle to untie."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main(argv: Iterable[str] = ()) -> int:
    checker = Checker(os.getcwd())
    summary = checker.run()
    for line in checker.fails:
        print("  " + line)
    print(("FAIL: " if checker.fails else "") + "architecture: " + summary)
    return 1 if checker.fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
