"""The batch runners `whowaits migrate` writes into a module: the code a per-item loop becomes.

Each runner takes the client, the items and a function that builds one request's params from
one item, and returns `(item, answer)` pairs in the order of the items, so the code around the
loop sees the same values it saw from the synchronous calls. Ids are `item-<index>` (valid and
unique by construction); requests go out in chunks under the provider's limit; the runner polls
at `poll_seconds` (never below whowaits' minimum) until the batch ends or `deadline_seconds`
passes; results are joined back by id and only succeeded ones are kept; errored and expired
requests are submitted once more, and anything still failing raises.
"""

from __future__ import annotations

from typing import Dict, Tuple

from whowaits.knowledge.limits import MAX_BATCH_REQUESTS

_ANTHROPIC = '''
{async_}def {name}(client, items, build, poll_seconds={poll}, deadline_seconds=None):
    """Answers for `items` from the Message Batches API, as (item, message) pairs in order.

    Written by `whowaits migrate`: one request per item (`build(item)` gives its params,
    `item-<index>` its custom_id), chunks of at most {limit:,} requests, a status check every
    `poll_seconds` until the batch ends (or `deadline_seconds` pass), results joined back by
    custom_id; errored and expired requests are submitted once more, then failures raise.
    """
{sleeper_import}    import time

    items = list(items)
    pending = {{f"item-{{index}}": build(item) for index, item in enumerate(items)}}
    answers = {{}}
    started = time.monotonic()
    for _round in range(2):
        ids = list(pending)
        batch_ids = []
        for start in range(0, len(ids), {limit:_}):
            chunk = [{{"custom_id": custom_id, "params": pending[custom_id]}} for custom_id in ids[start:start + {limit:_}]]
            batch_ids.append({lp}{await_}client.messages.batches.create(requests=chunk){rp}.id)
        for batch_id in batch_ids:
            while {lp}{await_}client.messages.batches.retrieve(batch_id){rp}.processing_status != "ended":
                if deadline_seconds is not None and time.monotonic() - started > deadline_seconds:
                    raise TimeoutError(f"batch {{batch_id}} did not end within {{deadline_seconds}} s")
                {await_}{sleeper}.sleep(poll_seconds)
            {async_}for entry in {await_}client.messages.batches.results(batch_id):
                if entry.result.type == "succeeded":
                    answers[entry.custom_id] = entry.result.message
                    pending.pop(entry.custom_id, None)
        if not pending:
            break
    if pending:
        raise RuntimeError(f"{{len(pending)}} batch requests failed twice, first {{next(iter(pending))}}")
    return [(item, answers[f"item-{{index}}"]) for index, item in enumerate(items)]
'''

_OPENAI = '''
def {name}(client, items, build, poll_seconds={poll}, deadline_seconds=None):
    """Answers for `items` from the OpenAI Batch API, as (item, chat completion) pairs in order.

    Written by `whowaits migrate`: one request per item (`build(item)` gives its body,
    `item-<index>` its custom_id), input files of at most {limit:,} requests, a status check
    every `poll_seconds` until the batch ends (or `deadline_seconds` pass), output lines joined
    back by custom_id; failed and expired requests are submitted once more, then failures raise.
    """
    import json
    import time

    from openai.types.chat import ChatCompletion

    items = list(items)
    pending = {{f"item-{{index}}": build(item) for index, item in enumerate(items)}}
    answers = {{}}
    started = time.monotonic()
    for _round in range(2):
        ids = list(pending)
        batch_ids = []
        for start in range(0, len(ids), {limit:_}):
            lines = "".join(
                json.dumps({{"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
                            "body": pending[custom_id]}}) + "\\n"
                for custom_id in ids[start:start + {limit:_}]
            )
            upload = client.files.create(file=("requests.jsonl", lines.encode()), purpose="batch")
            batch_ids.append(client.batches.create(
                input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h").id)
        for batch_id in batch_ids:
            batch = client.batches.retrieve(batch_id)
            while batch.status not in ("completed", "failed", "expired", "cancelled"):
                if deadline_seconds is not None and time.monotonic() - started > deadline_seconds:
                    raise TimeoutError(f"batch {{batch_id}} did not end within {{deadline_seconds}} s")
                time.sleep(poll_seconds)
                batch = client.batches.retrieve(batch_id)
            if batch.output_file_id:
                for line in client.files.content(batch.output_file_id).text.splitlines():
                    row = json.loads(line)
                    response = row.get("response") or {{}}
                    if response.get("status_code") == 200:
                        answers[row["custom_id"]] = ChatCompletion.model_validate(response["body"])
                        pending.pop(row["custom_id"], None)
        if not pending:
            break
    if pending:
        raise RuntimeError(f"{{len(pending)}} batch requests failed twice, first {{next(iter(pending))}}")
    return [(item, answers[f"item-{{index}}"]) for index, item in enumerate(items)]
'''

# (provider, async) -> (runner name, template)
RUNNERS: Dict[Tuple[str, bool], Tuple[str, str]] = {
    ("anthropic", False): ("run_message_batch", _ANTHROPIC),
    ("anthropic", True): ("run_message_batch_async", _ANTHROPIC),
    ("openai", False): ("run_chat_batch", _OPENAI),
}


def runner_source(provider: str, is_async: bool, poll_seconds: float) -> Tuple[str, str]:
    """(function name, source) of the runner for a provider, sync or async, polling every
    `poll_seconds` by default."""
    name, template = RUNNERS[(provider, is_async)]
    source = template.format(
        name=name, limit=MAX_BATCH_REQUESTS[provider], poll=f"{poll_seconds:g}",
        async_="async " if is_async else "", await_="await " if is_async else "",
        lp="(" if is_async else "", rp=")" if is_async else "",
        sleeper="asyncio" if is_async else "time", sleeper_import="    import asyncio\n" if is_async else "",
    )
    return name, source.lstrip("\n")
