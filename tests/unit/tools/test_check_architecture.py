"""tools/check_architecture.py: it passes on this tree, and each rule fails on a
small tree made to break it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("check_architecture",
                                               ROOT / "tools" / "check_architecture.py")
assert _spec is not None and _spec.loader is not None
check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check)


def tree(root: Path, files: dict[str, str]) -> Path:
    """A project of ``files`` (path -> source) under ``root``; every package
    folder gets an ``__init__.py``."""
    for rel, source in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        for folder in path.relative_to(root).parents:
            if str(folder) != ".":
                init = root / folder / "__init__.py"
                if not init.exists():
                    init.write_text("")
    return root


def fails(root: Path) -> list[str]:
    checker = check.Checker(str(root))
    checker.run()
    return checker.fails


def test_this_tree_keeps_every_rule():
    assert fails(ROOT) == []


BASE = {"core/errors.py": "", "core/db/base.py": "import sqlalchemy\n",
        "core/compute/servers.py": "from core.db.base import x\n",
        "gateway/app.py": "from core.compute import servers\n"}


def test_a_clean_small_tree_passes(tmp_path):
    assert fails(tree(tmp_path, BASE)) == []


@pytest.mark.parametrize(("extra", "expected"), [
    ({"core/db/engine.py": "from core.compute.servers import y\n"},
     "core/db (layer 1) imports core/compute (layer 5)"),
    ({"core/db/engine.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                           "    from core.compute import servers\n"},
     "core packages import each other in a circle: compute, db"),
    ({"core/compute/views.py": "import flask\n"}, "core.compute.views imports flask"),
    ({"core/agent/manager.py": "from core.compute.servers import z\n"},
     "agent reaches database code"),
    ({"core/policy/check.py": "def f():\n    from core.db.base import x\n"},
     "policy reaches database code"),
    ({"core/newthing/a.py": ""}, "core/newthing has no layer"),
    ({"gateway/views.py": "from sqlalchemy import select\n"},
     "gateway.views imports SQL machinery: sqlalchemy"),
    ({"core/compute/big.py": "x = 1\n" * 501}, "core.compute.big has 501 lines (> 500)"),
    ({"gateway/ec2/handlers/things.py": "\n".join(f'A{i} = "Invalid{i}.NotFound"'
                                                   for i in range(6))},
     "gateway/ec2 names 6 NotFound codes outside errors.py (> 5)"),
])
def test_each_rule_fails_when_broken(tmp_path, extra, expected):
    found = fails(tree(tmp_path, {**BASE, **extra}))
    assert any(expected in line for line in found), found


def test_the_ec2_error_table_may_name_every_code(tmp_path):
    codes = "\n".join(f'A{i} = "Invalid{i}.NotFound"' for i in range(20))
    assert fails(tree(tmp_path, {**BASE, "gateway/ec2/errors.py": codes})) == []
