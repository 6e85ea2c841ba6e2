"""adapter-sync's Python API: every public type, importable from one module.

Embed exactly what the CLI runs (see docs/python-api.md)::

    from adapter_sync.api import Engine, Hooks, Settings, read_key

    engine = Engine(Settings(api_url="https://api.adapter.com/v1", api_key=read_key()))
    planned = engine.plan(["connectors/"])
    print(engine.render(planned.plan, "text"))

- the workflow: :class:`Engine`, its :class:`Settings` and :class:`Hooks`, and what its calls
  return (:class:`Planned`, :class:`Applied`, :class:`Imported`);
- the values it works on, all frozen dataclasses: the declared state (:class:`Desired` of
  :class:`DesiredConnector`), the live state (:class:`Live` of :class:`LiveConnector`), the
  :class:`Selection` of connectors a command manages, the :class:`Plan` (its :class:`Action`\\ s
  with their :class:`FieldChange`\\ s and :class:`Detail`\\ s, the :class:`Safety` verdict (its
  :class:`Finding`\\ s) under :class:`SafetyRules`, the :class:`PolicyFinding`\\ s, the
  :class:`Estimate` and :class:`Provenance`), and the :class:`Result` of an apply (one
  :class:`Outcome` per action);
- the errors: every failure a user can cause is an :class:`AdapterSyncError`
  (:class:`ConfigError` with its :class:`Problem`\\ s at a :class:`Location`, :class:`ApiError`,
  :class:`OutcomeUnknown`, :class:`StalePlanError`, :class:`SafetyError`,
  :class:`ProtectedError`);
- the key: :class:`ApiKey` (its ``repr`` never shows the value) and :func:`read_key`.

The names are re-exported from the modules that define them, so ``adapter_sync.api.Plan is
adapter_sync.model.Plan``. Importing this module is cheap (no httpx, deepdiff, yaml or
jsonschema), but the CLI still imports it only for type checking, so ``--help`` never pays
for it. The package ships ``py.typed``: type checkers read these annotations.
"""

from __future__ import annotations

from adapter_sync.engine import Applied, Engine, Format, Hooks, Imported, Planned, Settings
from adapter_sync.errors import (
    AdapterSyncError,
    ApiError,
    ConfigError,
    Location,
    OutcomeUnknown,
    Problem,
    ProtectedError,
    SafetyError,
    StalePlanError,
)
from adapter_sync.model import (
    Action,
    ActionKind,
    Cause,
    Desired,
    DesiredConnector,
    Detail,
    Estimate,
    FieldChange,
    Finding,
    Live,
    LiveConnector,
    Outcome,
    OutcomeStatus,
    Plan,
    PolicyFinding,
    Provenance,
    Result,
    Safety,
    SafetyRules,
    Selection,
)
from adapter_sync.secrets import ApiKey, read_key

__all__ = [
    # the workflow
    "Engine", "Settings", "Hooks", "Planned", "Applied", "Imported", "Format",
    # the values
    "Desired", "DesiredConnector", "Live", "LiveConnector", "Selection",
    "Plan", "Action", "ActionKind", "Cause", "FieldChange", "Detail",
    "Safety", "Finding", "SafetyRules", "PolicyFinding", "Estimate", "Provenance",
    "Result", "Outcome", "OutcomeStatus",
    # the errors
    "AdapterSyncError", "ConfigError", "Problem", "Location", "ApiError", "OutcomeUnknown",
    "StalePlanError", "SafetyError", "ProtectedError",
    # the key
    "ApiKey", "read_key",
]
