"""The API's facts, as the sandbox reads them in the project's contract, docs/api-contract.md.

Transcribed here on purpose rather than imported from the client's model: the sandbox is an
independent emulator, so a wrong constant on one side shows up as a failing contract test instead
of being wrong on both sides at once. ``tests/contract/test_sandbox_constants.py`` checks these
values against the text of docs/api-contract.md. [D] = documented by Adapter, [A] = the
contract's assumption.
"""

from __future__ import annotations

import re

#: The path every API call lives under (``https://api.adapter.com/v1``) [D].
API_PREFIX = "/v1"
#: The one resource adapter-sync manages [D].
COLLECTION_PATH = API_PREFIX + "/custom-connectors"
#: Keys look like ``pk_live_...`` and travel as ``Authorization: Bearer <key>`` [D].
KEY_PREFIX = "pk_live_"

#: The kinds a connector may accept [D]; empty or null ``accepted_kinds`` means all of them.
KINDS: tuple[str, ...] = ("email", "page", "message", "calendar", "issue", "custom")
#: ``source_name``: lowercase letters, digits and inner hyphens, 1 to 64 characters [A].
SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
SLUG_RE = re.compile(SLUG_PATTERN)
SLUG_MAX = 64
#: ``name``: a string of 1 to 255 characters [D].
NAME_MIN = 1
NAME_MAX = 255
#: ``metadata``: string to string, at most 20 keys [A].
METADATA_MAX_KEYS = 20

#: Fields a create may send [D] and fields a PATCH may send [D] (never ``source_name``).
CREATE_FIELDS = frozenset({"name", "source_name", "accepted_kinds", "metadata"})
PATCH_FIELDS = frozenset({"name", "accepted_kinds", "metadata", "is_active"})

#: Error codes the docs name: 401 (bad, revoked or missing key) and 403 (with
#: ``details.missing_scopes``) [D].
AUTHENTICATION_ERROR = "authentication_error"
INSUFFICIENT_SCOPES = "insufficient_scopes"
#: Codes the docs do not name; the sandbox's choices, in the ``{"error", "message",
#: "details"}`` shape [A]. 429 itself is documented [D], its code is not.
RATE_LIMIT_EXCEEDED = "rate_limit_exceeded"
VALIDATION_ERROR = "validation_error"
CONFLICT = "conflict"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
CONNECTOR_INACTIVE = "connector_inactive"
KIND_NOT_ACCEPTED = "kind_not_accepted"
INTERNAL_ERROR = "internal_error"

#: Rate limits: requests per minute on the free and the Pro plan [D].
FREE_REQUESTS_PER_MINUTE = 60
PRO_REQUESTS_PER_MINUTE = 600
#: The headers every answer carries; ``Reset`` is in epoch seconds [D].
HEADER_LIMIT = "X-RateLimit-Limit"
HEADER_REMAINING = "X-RateLimit-Remaining"
HEADER_RESET = "X-RateLimit-Reset"
#: Not documented [A]: the sandbox sends it on 429s (in the style its fault config picks).
HEADER_RETRY_AFTER = "Retry-After"
#: Not documented [A]: the sandbox sends one on every answer.
HEADER_REQUEST_ID = "X-Request-Id"
