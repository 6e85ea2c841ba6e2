"""The imports read one way (DESIGN.md): cli → engine → config, client, planner, applier,
render, planfile, importer → model (render and planfile through document, the plan's codec).
Checked on the source, so a shortcut back up the pipeline fails here instead of in review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "adapter_sync"

#: What each module may import from adapter_sync (its own subpackage aside). Leaf utilities
#: (errors, escape, model, secrets, atomicfile, schemafiles) are allowed where listed.
LEAVES = {"errors", "escape", "model"}
ALLOWED: dict[str, set[str]] = {
    "cli": {"engine", "errors", "escape", "secrets", "progress", "api"},
    "api": {"engine", "errors", "model", "secrets"},  # the public types, re-exported
    "progress": {"events", *LEAVES},  # the command layer's live display: writes events
    "events": {"render", *LEAVES},  # the apply's typed events (their lines use the views)
    "engine": {"config", "client", "planner", "applier", "render", "planfile", "importer",
               "retry", "sandbox", "secrets", "base", "schemafiles", "atomicfile", "policy",
               *LEAVES},
    "base": {*LEAVES},
    "applier": {"diff", *LEAVES},
    "planner": {"diff", *LEAVES},
    "diff": {*LEAVES},
    "render": {"document", *LEAVES},  # the views; json renders the document
    "document": {"model"},  # the plan document's codec: core, like the model
    "planfile": {"diff", "document", "atomicfile", "schemafiles", *LEAVES},
    "importer": {"atomicfile", *LEAVES},
    "client": {"retry", "pacing", "classify", "ratelimit", "secrets", *LEAVES},
    "pacing": {"ratelimit", *LEAVES},
    "classify": {"retry", "secrets", *LEAVES},
    "ratelimit": {"retry", *LEAVES},
    "config": {"schemafiles", "secrets", "policy", *LEAVES},
    "policy": {*LEAVES},
    "secrets": {"render"},  # to know the Markdown spelling of the key
    "model": {"errors"},
    "escape": set(),
    "errors": set(),
}
#: Modules no one but the engine may import.
SHELL_ONLY = {"sandbox"}


def _imports(path: Path) -> set[str]:
    """The adapter_sync modules ``path`` imports, as their top-level names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "adapter_sync" and len(parts) > 1:
                found.add(parts[1])
    return found - {"__version__"}


def _module(path: Path) -> str:
    rel = path.relative_to(PACKAGE).parts
    return rel[0].removesuffix(".py")


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ("__main__.py",))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_one_way(path: Path) -> None:
    module = _module(path)
    if module in ("__init__", "sandbox"):
        return
    used = _imports(path) - {module}
    allowed = ALLOWED.get(module)
    if allowed is None:  # a small helper module: it may use leaves only
        allowed = {*LEAVES, "secrets", "atomicfile", "schemafiles", "retry", "pacing"}
    assert used <= allowed, f"{module} imports {sorted(used - allowed)}"


def test_the_sandbox_is_reached_only_through_the_engine() -> None:
    for path in _sources():
        module = _module(path)
        if module in ("engine", "sandbox"):
            continue
        assert not (_imports(path) & SHELL_ONLY), f"{module} imports the sandbox"


def test_the_sandbox_imports_nothing_of_the_client_side() -> None:
    for path in sorted((PACKAGE / "sandbox").rglob("*.py")):
        assert not (_imports(path) - {"sandbox"}), f"sandbox/{path.name} imports {_imports(path)}"


def test_the_cli_imports_the_public_api_module_only_for_type_checking() -> None:
    """``adapter_sync.api`` pulls in the engine and the model: the CLI may name its types in
    annotations, but must not import it when it runs (``--help`` stays fast)."""
    tree = ast.parse((PACKAGE / "cli.py").read_text(encoding="utf-8"))
    guarded = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
               and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
               for node in ast.walk(block)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "adapter_sync.api" or \
                isinstance(node, ast.Import) and any(a.name == "adapter_sync.api"
                                                     for a in node.names):
            assert id(node) in guarded, f"cli.py:{node.lineno} imports adapter_sync.api at run time"
