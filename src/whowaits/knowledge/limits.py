"""Limits and enumerations the rules encode; the per-provider ones are derived from the
provider records (`knowledge.providers`), the rest are whowaits' own defaults."""

from __future__ import annotations

from typing import Dict, FrozenSet

from whowaits.knowledge.providers import PROVIDERS

# Requests per batch, for the providers that state a limit.
MAX_BATCH_REQUESTS: Dict[str, int] = {p.name: p.limits.max_requests for p in PROVIDERS.values() if p.limits}

# The longest custom_id every provider accepts (what the fixers shorten ids to).
CUSTOM_ID_MAX_LEN: int = min(p.custom_id.max_len for p in PROVIDERS.values() if p.custom_id)

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
