"""Provider limits and enumerations the rules encode, in one place (see shared api-facts.md)."""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, Pattern

# Requests per batch (Anthropic: 100,000 and 256 MB; OpenAI: 50,000 per input file).
MAX_BATCH_REQUESTS: Dict[str, int] = {"anthropic": 100_000, "openai": 50_000}

# custom_id: 1-64 characters of letters, digits, `_` and `-`.
CUSTOM_ID_PATTERN: Pattern[str] = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
CUSTOM_ID_ALLOWED_CHAR: Pattern[str] = re.compile(r"[a-zA-Z0-9_-]")
CUSTOM_ID_MAX_LEN = 64

# Beta headers that only work on the Batch API.
BATCH_ONLY_BETAS: FrozenSet[str] = frozenset({"output-300k-2026-03-24"})

# Default minimum seconds between polls of one batch.
DEFAULT_POLL_INTERVAL_MIN = 30.0

# Values people compare `result.type` with, and the value the API uses for what they meant.
RESULT_TYPE_FIXES: Dict[str, str] = {
    "error": "errored", "errors": "errored", "failed": "errored", "failure": "errored",
    "success": "succeeded", "successful": "succeeded", "succeed": "succeeded",
    "cancelled": "canceled", "expire": "expired",
}
