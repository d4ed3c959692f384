"""Which methods a path accepts, from the spec — for the ``Allow`` header of a
405 (starlette only knows the first route that matched the path)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


class AllowedMethods:
    def __init__(self) -> None:
        self._routes: list[tuple[re.Pattern[str], tuple[str, ...]]] = []

    def add_spec(self, spec_path: Path, base_path: str) -> None:
        spec = yaml.safe_load(spec_path.read_text())
        for template, item in spec["paths"].items():
            methods = tuple(m.upper() for m in _METHODS if m in item)
            full = (base_path.rstrip("/") + template).rstrip("/") or "/"
            pattern = re.escape(full).replace(r"\{", "{").replace(r"\}", "}")
            pattern = re.sub(r"{[^/}]+}", r"[^/]+", pattern)
            self._routes.append((re.compile(f"^{pattern}/?$"), methods))

    def for_path(self, path: str) -> tuple[str, ...]:
        for pattern, methods in self._routes:
            if pattern.match(path):
                return methods
        return ()
