"""The JSON Schemas shipped with adapter-sync (``schemas/`` in the repository, packaged into
the wheel beside the code), found the same way installed or from a source checkout."""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any


def path(name: str) -> Path:
    """The schema file ``name``: packaged in the wheel, else the repository's ``schemas/``."""
    try:
        packaged = resources.files("adapter_sync").joinpath(name)
        if packaged.is_file():
            return Path(str(packaged))
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):  # pragma: no cover
        pass
    return Path(__file__).resolve().parents[2] / "schemas" / name


@functools.cache
def load(name: str) -> dict[str, Any]:
    """The parsed schema ``name`` (read once per process)."""
    parsed: dict[str, Any] = json.loads(path(name).read_text(encoding="utf-8"))
    return parsed
