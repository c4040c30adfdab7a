"""Batch lifecycles: each provider's batch statuses, where a batch object keeps them, and what
its results look like, from the provider records (`knowledge.providers`).

Data only. The lifecycle facts read status checks against the union of every provider's
statuses (a file does not know yet which provider a batch belongs to); the checks intersect
what they found with the record of the provider the project index resolved.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Tuple

from whowaits.knowledge.providers import PROVIDERS, BatchLifecycle

BATCH_LIFECYCLES: Dict[str, BatchLifecycle] = {p.name: p.lifecycle for p in PROVIDERS.values() if p.lifecycle}

# Every status any provider's batch can be in, and the fields that hold one: what a status
# check looks like before the provider is known.
ALL_STATUSES: FrozenSet[str] = frozenset(s for r in BATCH_LIFECYCLES.values() for s in r.statuses)
STATUS_FIELDS: FrozenSet[str] = frozenset(f for r in BATCH_LIFECYCLES.values() for f in r.status_fields)
RUNNING_STATUSES: FrozenSet[str] = frozenset(s for r in BATCH_LIFECYCLES.values() for s in r.running)
ENDED_STATUSES: FrozenSet[str] = frozenset(s for r in BATCH_LIFECYCLES.values() for s in r.ended)
# Statuses in which an output field can be set (so a truthy output field rules the others out).
OUTPUT_STATUSES: FrozenSet[str] = frozenset(s for r in BATCH_LIFECYCLES.values() for s in r.ready | r.partial)
ENDED_FLAGS: FrozenSet[str] = frozenset(f for r in BATCH_LIFECYCLES.values() for f in r.ended_flags)
OUTPUT_FIELDS: FrozenSet[str] = frozenset(f for r in BATCH_LIFECYCLES.values() for f in r.output_fields)
# Attributes that name a batch (`batch.id`, a Gemini job's `name`) rather than describe it.
ID_FIELDS: FrozenSet[str] = frozenset({"id", "name"})
# (value, failure) attribute pairs of inline results.
RESULT_FIELDS: FrozenSet[Tuple[str, ...]] = frozenset(r.result_fields for r in BATCH_LIFECYCLES.values() if r.result_fields)
