"""What a call site costs per 1,000 calls, and what the Batch API would save, from what the code
shows: the model (literal, or a constant of this or another module), the literal `max_tokens`,
and the size of literal prompt text (characters / 4). Prices come from a dated table kept as
data (`knowledge/prices.toml`), which a user file can extend or override (`prices` in the
configuration). What the code does not show is listed as unknown, never guessed.
"""

from __future__ import annotations

import fnmatch
import math
import os
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple

from whowaits.core import CallSite, CostEstimate, ModelPrice, PriceTable
from whowaits.knowledge.sdk import GENERATION_KINDS

BUILTIN_PRICES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "knowledge", "prices.toml")
CHARS_PER_TOKEN = 4
_PRICE_FIELDS = ("input", "output", "batch_input", "batch_output")
_MODEL_KEYS = {"provider", "name", "ids", "source", "cache_read"} | set(_PRICE_FIELDS)


class PriceError(Exception):
    """A price file that cannot be used: the message names the file and the field."""


def read_price_file(path: str) -> PriceTable:
    """Read and validate one price table (the built-in one or a user's)."""
    from whowaits.config import read_toml

    data = read_toml(path, PriceError)
    unknown = sorted(set(data) - {"date", "source", "model"})
    if unknown:
        raise PriceError(f"{path}: unknown field `{unknown[0]}` (known: date, source, model)")
    for key in ("date", "source"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise PriceError(f"{path}: field `{key}` must be a non-empty string (when the prices were read, and where)")
    entries = data.get("model", [])
    if not isinstance(entries, list) or not entries:
        raise PriceError(f"{path}: field `model` must be a non-empty array of tables ([[model]])")
    return PriceTable(data["date"], data["source"], tuple(_model(path, i, e) for i, e in enumerate(entries)))


def _model(path: str, index: int, entry: Any) -> ModelPrice:
    where = f"{path}: model[{index}]"
    if not isinstance(entry, dict):
        raise PriceError(f"{where} must be a table")
    unknown = sorted(set(entry) - _MODEL_KEYS)
    if unknown:
        raise PriceError(f"{where}: unknown field `{unknown[0]}` (known: {', '.join(sorted(_MODEL_KEYS))})")
    for key in ("provider", "name", "source"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise PriceError(f"{where}: field `{key}` must be a non-empty string")
    ids = entry.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise PriceError(f"{where}: field `ids` must be a non-empty list of model ids or globs")
    prices: Dict[str, float] = {}
    for key in _PRICE_FIELDS + ("cache_read",):
        value = entry.get(key)
        if value is None and key == "cache_read":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise PriceError(f"{where}: field `{key}` must be a non-negative number (USD per million tokens)")
        prices[key] = float(value)
    return ModelPrice(
        provider=entry["provider"], name=entry["name"], patterns=tuple(ids),
        input=prices["input"], output=prices["output"],
        batch_input=prices["batch_input"], batch_output=prices["batch_output"],
        cache_read=prices.get("cache_read"), source=entry["source"],
    )


@lru_cache(maxsize=8)
def price_table(user_file: Optional[str] = None) -> PriceTable:
    """The built-in table, with a user's models first when `prices` names a file."""
    builtin = read_price_file(BUILTIN_PRICES)
    if not user_file:
        return builtin
    user = read_price_file(user_file)
    return PriceTable(user.date, f"{user.source} ({os.path.basename(user_file)}), then the built-in table of {builtin.date}",
                      user.models + builtin.models)


def model_prefixes() -> Tuple[str, ...]:
    """How model ids of the built-in table start (`claude-`, `gpt-`): the pre-filter keeps files
    that define such constants, so a model named in a config module resolves."""
    return tuple(sorted({p.split("-", 1)[0] + "-" for m in price_table().models for p in m.patterns}))


def price_for(table: PriceTable, model: str) -> Optional[ModelPrice]:
    for entry in table.models:
        if any(fnmatch.fnmatchcase(model, pattern) for pattern in entry.patterns):
            return entry
    return None


def estimate(site: CallSite, table: PriceTable) -> Optional[CostEstimate]:
    """The cost of 1,000 calls of a synchronous generation site; None for other operations and
    for clients without a Batch API (an OpenAI-compatible server has no batch support)."""
    if site.op.kind not in GENERATION_KINDS or not site.op.batch_supported:
        return None
    request = site.call.request
    unknown: List[str] = []
    price = price_for(table, request.model) if request.model else None
    if request.model is None:
        unknown.append("model")
    elif price is None:
        unknown.append("price")
    if request.model_env:  # a deployment may set another model
        unknown.append(f"env:{request.model_env}")
    output = request.max_tokens
    if output is None:
        unknown.append("max_tokens")
    input_tokens: Optional[int] = None
    if request.prompt_chars is None:
        unknown.append("prompt")
    else:
        input_tokens = math.ceil(request.prompt_chars / CHARS_PER_TOKEN)
        unknown.extend(f"prompt:{part}" for part in request.prompt_unknown)
    usd = batch = None
    if price is not None and output is not None:
        tokens_in = input_tokens or 0
        usd = 1000 * (tokens_in * price.input + output * price.output) / 1_000_000
        batch = 1000 * (tokens_in * price.batch_input + output * price.batch_output) / 1_000_000
    return CostEstimate(request.model, input_tokens, output, usd, batch, tuple(unknown), table.date)


def usd(amount: float) -> str:
    """Dollars as people read them: cents from 10 cents, two significant digits below."""
    if amount >= 1000:
        return f"${amount:,.0f}"
    if amount >= 0.1:
        return f"${amount:,.2f}"
    if amount == 0:
        return "$0"
    return f"${amount:.2g}" if amount >= 0.0001 else "under $0.0001"


def _env_note(cost: CostEstimate) -> str:
    """"the default of $NAME" when the model is an environment variable's default."""
    env = next((u[len("env:"):] for u in cost.unknown if u.startswith("env:")), None)
    return f"the default of ${env}" if env else ""


def _why(cost: CostEstimate, item: str) -> str:
    reasons = {
        "model": "the model is neither a literal nor a project constant",
        "price": f"`{cost.model}`{f' ({_env_note(cost)})' if _env_note(cost) else ''} is not in the price table of {cost.price_date}",
        "max_tokens": "max_tokens is not literal",
        "prompt": "the prompt is not visible",
    }
    return reasons.get(item, "")


def describe(cost: Optional[CostEstimate], per: str = "items") -> str:
    """One clause for messages: the cost and batch saving per 1,000 calls, or why it is unknown."""
    if cost is None:
        return ""
    if cost.usd_per_1k_calls is None or cost.saving_per_1k_calls is None:
        return f"cost per 1,000 {per} unknown: " + "; ".join(w for w in (_why(cost, u) for u in cost.unknown) if w)
    parts = ["the prompt" if u == "prompt" else f"`{u[len('prompt:'):]}`" for u in cost.unknown if u.startswith("prompt")]
    if cost.input_tokens or not parts:
        sized = f"~{cost.input_tokens or 0:,} input tokens" + (f" plus {', '.join(parts)}" if parts else "")
    else:
        sized = f"input tokens of {', '.join(parts)} not sized"
    details = "; ".join(p for p in (_env_note(cost), f"{sized}, up to {cost.output_tokens:,} output tokens each") if p)
    return (f"about {usd(cost.usd_per_1k_calls)} per 1,000 {per} with {cost.model} ({details}); "
            f"batch saves about {usd(cost.saving_per_1k_calls)}")
