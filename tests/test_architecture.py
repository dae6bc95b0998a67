"""The core names no part: no import (import-linter checks those) and no module path in a string.

A dotted path in a string is an import in disguise (``importlib.import_module("sync.jobs")``,
a Flask endpoint, a logger name), so the core may not hold one for a module under
``channels/`` or ``sync/``. Setting names are configuration and stay allowed:
``"sync.url"`` names no module, ``"sync.regional"`` does. Comments and
docstrings are prose and are not checked.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOTTED = re.compile(r"(?<![\w.])((?:channels|sync)(?:\.\w+)+)")


def _part_modules() -> set[str]:
    names = set()
    for package in ("channels", "sync"):
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def module_paths_in_strings(source: str, modules: set[str]) -> list[str]:
    """Dotted names of real part modules found in the string literals of ``source``."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            for dotted in DOTTED.findall(node.value):
                pieces = dotted.split(".")
                # "channels.sms.twilio_web.bp" names a module too: any prefix of two or more parts counts.
                if any(".".join(pieces[:n]) in modules for n in range(2, len(pieces) + 1)):
                    found.append(dotted)
    return found


def test_the_detector_tells_modules_from_setting_names():
    modules = {"sync.jobs", "sync.regional", "channels.sms", "channels.sms.inbound"}
    source = '''
"""Docstrings may say sync.jobs."""
import importlib
# a comment may say channels.sms
x = importlib.import_module("sync.jobs")
y = ("sync.url", "sync.regional_key", "regional.db", "channels", "simpul.channels")
z = f"{1}channels.sms.inbound.Handler"
w = "see sync.regional"
'''
    assert sorted(module_paths_in_strings(source, modules)) == ["channels.sms.inbound.Handler", "sync.jobs",
                                                                "sync.regional"]


def test_gateway_names_no_channel_or_sync_module():
    modules = _part_modules()
    assert "sync.regional" in modules and "channels.kiosk.views_queue" in modules
    offenders = []
    for path in sorted((ROOT / "gateway").rglob("*.py")):
        for dotted in module_paths_in_strings(path.read_text(encoding="utf-8"), modules):
            offenders.append(f"{path.relative_to(ROOT)}: {dotted!r}")
    assert not offenders, "the core names part modules in strings:\n" + "\n".join(offenders)


def test_every_error_class_derives_from_simpul_error():
    """One exception root: ``except SimpulError`` catches whatever any package raises on purpose."""
    import importlib
    import inspect
    import pkgutil

    from gateway.errors import SimpulError

    stray = []
    for package in ("gateway", "channels", "sync"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            module = importlib.import_module(info.name)
            for name, cls in inspect.getmembers(module, inspect.isclass):
                if (cls.__module__ == module.__name__ and issubclass(cls, BaseException)
                        and not issubclass(cls, SimpulError)):
                    stray.append(f"{module.__name__}.{name}")
    assert not stray, f"error classes outside the SimpulError root: {stray}"
