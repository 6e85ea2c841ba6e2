"""Config files → :class:`~adapter_sync.model.Desired`, fully validated offline.

The language (version 1)::

    version: 1                 # optional; only 1 is accepted
    requires: ">=0.1"          # optional; the adapter-sync versions this file is for (PEP 440)
    prune: false               # optional; may be set in one file, or identically in several
    ignore: ["legacy-*"]       # optional; source_name globs adapter-sync never touches
    protect: ["billing-*"]     # optional; source_name globs never deactivated
    safety: {max_deactivate_percent: 30, min_active: 10, small_account_percent: 50}
    defaults:                  # optional; for the connectors of THIS file only
      accepted_kinds: [email]
      metadata: {env: staging}
    policy:                    # optional; organisation rules (JSON Schema), see docs/policies.md
      - schema: {required: [metadata], properties: {metadata: {required: [owner]}}}
        message: every connector names its owning team   # optional
        match: ["billing-*"]   # optional source_name globs; severity: error|warning
      - include: ../policies/org.yaml   # a shared YAML file whose only key is policy
    connectors:                # optional (a file may hold only settings)
      acme-crm:                # the key is the source_name (immutable slug)
        name: Acme CRM         # required, 1-255 characters
        accepted_kinds: [email, page]   # optional; omitted, null or [] = all kinds
        metadata: {pipeline: acme-crm@v2}   # optional; string → string, at most 20 keys
        active: true           # optional, default true

Rules beyond the JSON Schema (``schemas/connectors.schema.json``):

* An unquoted ``null``/``~``/empty value on an optional key means the key is absent.
* ``defaults.metadata`` is merged under each connector's metadata (the connector's keys win);
  the merged map must still have at most 20 keys. ``defaults.accepted_kinds`` applies where a
  connector omits ``accepted_kinds`` (or gives null); a connector's explicit ``[]`` means all
  kinds and is *not* replaced by the defaults.
* ``${VAR}`` and ``${VAR:-default}`` in names and metadata values are replaced from the
  environment (``:-`` also covers a set but empty variable; a default may hold references);
  ``$${`` is a literal ``${``. An unset variable without default is an error.
  ``${ADAPTER_API_KEY}`` may not be used, and a value, metadata key or source_name holding the
  API key (given by the caller) is refused without ever being shown.
* A source_name declared twice (in one file or across files), conflicting ``prune``/``ignore``/
  ``protect``/``safety``/``policy`` settings, and a declared connector that an ``ignore`` glob
  matches are errors.
* A file's ``requires:`` that this adapter-sync does not satisfy refuses the file, before
  anything else in it is checked (:mod:`.requires`).
* Each declared connector is checked against the ``policy`` rules (:mod:`.policyload`): breaking
  an ``error`` rule is a problem; a ``warning`` rule, a warning (``Desired.policy_warnings``).

Every problem is collected and raised together as one :class:`~adapter_sync.errors.ConfigError`.

One module per job: :mod:`.discovery` (which files), :mod:`.yamlload` (the strict YAML reader,
every value locatable), :mod:`.interpolate` (``${VAR}``, the API key kept out), :mod:`.schema`
(the JSON Schema: fast check, located explanations), :mod:`.requires` (``requires:``),
:mod:`.policyload` (the ``policy:`` rules), :mod:`.build` (defaults, settings across files,
:func:`load`).
"""

from __future__ import annotations

from adapter_sync.config.build import load, load_policy
from adapter_sync.config.discovery import DEFAULT_DIR, DEFAULT_FILE, default_exists, discover
from adapter_sync.config.interpolate import interpolate
from adapter_sync.config.schema import SCHEMA_FILE, schema, schema_path

__all__ = ["DEFAULT_DIR", "DEFAULT_FILE", "SCHEMA_FILE", "default_exists", "discover",
           "interpolate", "load", "load_policy", "schema", "schema_path"]
