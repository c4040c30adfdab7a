"""A fake LLM provider on 127.0.0.1 that the real `anthropic` and `openai` SDKs talk to.

It implements what a per-item loop and its batch migration use: Anthropic `POST /v1/messages`
and Message Batches (create, retrieve, results as JSONL at the batch's `results_url`); OpenAI
`POST /v1/chat/completions`, `/v1/files` (upload, content) and `/v1/batches` (create,
retrieve). Answers are derived from the request only, so a program gets the same text from a
synchronous call and from a batch. `inject` makes the first requests of the first batch come
back errored or expired (the retry batch then succeeds), `latency` delays every answer, and
`polls_before_end` keeps a batch in progress for that many retrieves. Like the real API, a
batch with an invalid custom_id is rejected with a 400, and a request asking for `stream`,
`speed` or `max_tokens: 0` comes back errored. `stats` counts what was called, so a test can
prove the migrated program made one batch and no per-item call. `run_main` runs a program
against it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import runpy
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def answer(model: str, messages: Any) -> str:
    """The deterministic reply to a conversation: a digest and the last user text, shouted."""
    digest = hashlib.sha256(json.dumps([model, messages], sort_keys=True).encode()).hexdigest()[:8]
    last = messages[-1]["content"] if messages else ""
    if isinstance(last, list):
        last = " ".join(part.get("text", "") for part in last if isinstance(part, dict))
    return f"{digest}:{str(last).upper()[:60]}"


def anthropic_message(params: Dict[str, Any]) -> Dict[str, Any]:
    text = answer(params.get("model", ""), params.get("messages", []))
    return {
        "id": "msg_" + hashlib.sha256(text.encode()).hexdigest()[:16],
        "type": "message",
        "role": "assistant",
        "model": params.get("model", ""),
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": len(text.split())},
    }


def openai_completion(body: Dict[str, Any]) -> Dict[str, Any]:
    text = answer(body.get("model", ""), body.get("messages", []))
    return {
        "id": "chatcmpl-" + hashlib.sha256(text.encode()).hexdigest()[:16],
        "object": "chat.completion",
        "created": 1700000000,
        "model": body.get("model", ""),
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": text, "refusal": None}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
    }


@dataclass
class Stats:
    sync: int = 0  # messages.create and chat.completions.create calls
    batches: List[int] = field(default_factory=list)  # requests per batch created, in order
    retrieves: int = 0
    uploads: int = 0


@dataclass
class Batch:
    id: str
    provider: str
    results: List[Dict[str, Any]]  # Anthropic result lines, or OpenAI output/error lines
    retrieves: int = 0
    extra: Dict[str, Any] = field(default_factory=dict)


class FakeProvider:
    """Start with `with FakeProvider() as fake:`; `fake.url` is the base URL."""

    def __init__(self, inject: Tuple[str, ...] = (), latency: float = 0.0, polls_before_end: int = 0) -> None:
        self.inject = list(inject)
        self.latency = latency
        self.polls_before_end = polls_before_end
        self.stats = Stats()
        self.batches: Dict[str, Batch] = {}
        self.files: Dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self) -> Dict[str, str]:
        """Environment variables that point both SDKs here (base_url and a dummy key)."""
        return {"ANTHROPIC_BASE_URL": self.url, "ANTHROPIC_API_KEY": "test-key",
                "OPENAI_BASE_URL": self.url + "/v1", "OPENAI_API_KEY": "test-key"}

    def __enter__(self) -> "FakeProvider":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- behaviour ---------------------------------------------------------------------------

    def _take_failure(self) -> Optional[str]:
        """The failure for the next request of the first batch, if any is left to inject."""
        if len(self.stats.batches) == 1 and self.inject:
            return self.inject.pop(0)
        return None

    def create_anthropic_batch(self, requests: List[Dict[str, Any]]) -> Batch:
        with self._lock:
            self.stats.batches.append(len(requests))
            results = []
            for request in requests:
                failure = self._take_failure()
                params = request["params"]
                if params.get("stream") or "speed" in params or params.get("max_tokens") == 0:
                    failure = "errored"
                if failure == "errored":
                    result: Dict[str, Any] = {"type": "errored", "error": {
                        "type": "error", "error": {"type": "api_error", "message": "injected failure"}}}
                elif failure == "expired":
                    result = {"type": "expired"}
                else:
                    result = {"type": "succeeded", "message": anthropic_message(request["params"])}
                results.append({"custom_id": request["custom_id"], "result": result})
            batch = Batch(f"msgbatch_{len(self.batches) + 1:04d}", "anthropic", results[::-1])  # any order
            self.batches[batch.id] = batch
            return batch

    def anthropic_batch_json(self, batch: Batch) -> Dict[str, Any]:
        ended = batch.retrieves > self.polls_before_end
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for line in batch.results:
            counts[line["result"]["type"]] += 1
        if not ended:
            counts = {"processing": len(batch.results), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        return {
            "id": batch.id, "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-02T00:00:00Z",
            "ended_at": "2026-01-01T01:00:00Z" if ended else None,
            "archived_at": None, "cancel_initiated_at": None,
            "results_url": f"{self.url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def create_openai_batch(self, body: Dict[str, Any]) -> Batch:
        with self._lock:
            lines = [json.loads(line) for line in self.files[body["input_file_id"]].decode().splitlines() if line.strip()]
            self.stats.batches.append(len(lines))
            output, errors = [], []
            for n, line in enumerate(lines):
                failure = self._take_failure()
                if failure is not None:
                    code = "batch_expired" if failure == "expired" else "server_error"
                    errors.append({"id": f"req_{n}", "custom_id": line["custom_id"], "response": None,
                                   "error": {"code": code, "message": "injected failure"}})
                else:
                    output.append({"id": f"req_{n}", "custom_id": line["custom_id"], "error": None,
                                   "response": {"status_code": 200, "request_id": f"r{n}",
                                                "body": openai_completion(line["body"])}})
            batch = Batch(f"batch_{len(self.batches) + 1:04d}", "openai", [], extra={
                "input_file_id": body["input_file_id"], "endpoint": body.get("endpoint", ""),
                "completion_window": body.get("completion_window", "24h"), "total": len(lines)})
            batch.extra["output_file_id"] = self._store(output[::-1]) if output else None
            batch.extra["error_file_id"] = self._store(errors) if errors else None
            batch.extra["failed"] = len(errors)
            self.batches[batch.id] = batch
            return batch

    def _store(self, lines: List[Dict[str, Any]]) -> str:
        file_id = f"file-{len(self.files) + 1:04d}"
        self.files[file_id] = "".join(json.dumps(line) + "\n" for line in lines).encode()
        return file_id

    def openai_batch_json(self, batch: Batch) -> Dict[str, Any]:
        ended = batch.retrieves > self.polls_before_end
        extra = batch.extra
        return {
            "id": batch.id, "object": "batch", "endpoint": extra["endpoint"], "errors": None,
            "input_file_id": extra["input_file_id"], "completion_window": extra["completion_window"],
            "status": "completed" if ended else "in_progress",
            "output_file_id": extra["output_file_id"] if ended else None,
            "error_file_id": extra["error_file_id"] if ended else None,
            "created_at": 1700000000,
            "request_counts": {"total": extra["total"], "completed": extra["total"] - extra["failed"] if ended else 0,
                               "failed": extra["failed"] if ended else 0},
        }

    # -- HTTP --------------------------------------------------------------------------------

    def _handler(self) -> type:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_POST(self) -> None:
                time.sleep(fake.latency)
                path = self.path.split("?")[0]
                if path == "/v1/messages":
                    with fake._lock:
                        fake.stats.sync += 1
                    return self._send(200, anthropic_message(json.loads(self._body())))
                if path == "/v1/messages/batches":
                    requests = json.loads(self._body())["requests"]
                    bad = [r.get("custom_id") for r in requests if not CUSTOM_ID.match(str(r.get("custom_id", "")))]
                    if bad:
                        return self._send(400, {"type": "error", "error": {
                            "type": "invalid_request_error", "message": f"invalid custom_id {bad[0]!r}"}})
                    batch = fake.create_anthropic_batch(requests)
                    return self._send(200, fake.anthropic_batch_json(batch))
                if path == "/v1/chat/completions":
                    with fake._lock:
                        fake.stats.sync += 1
                    return self._send(200, openai_completion(json.loads(self._body())))
                if path == "/v1/files":
                    content = _multipart_file(self.headers.get("Content-Type", ""), self._body())
                    with fake._lock:
                        fake.stats.uploads += 1
                        file_id = f"file-{len(fake.files) + 1:04d}"
                        fake.files[file_id] = content
                    return self._send(200, {"id": file_id, "object": "file", "bytes": len(content),
                                            "created_at": 1700000000, "filename": "batch.jsonl",
                                            "purpose": "batch", "status": "processed"})
                if path == "/v1/batches":
                    batch = fake.create_openai_batch(json.loads(self._body()))
                    return self._send(200, fake.openai_batch_json(batch))
                self._send(404, {"error": {"type": "not_found", "message": path}})

            def do_GET(self) -> None:
                time.sleep(fake.latency)
                path = self.path.split("?")[0]
                match = re.fullmatch(r"/v1/(?:messages/)?batches/([\w-]+)(/results)?", path)
                if match and match.group(1) in fake.batches:
                    batch = fake.batches[match.group(1)]
                    if match.group(2):
                        data = "".join(json.dumps(line) + "\n" for line in batch.results).encode()
                        return self._send(200, data, "application/binary")
                    with fake._lock:
                        batch.retrieves += 1
                        fake.stats.retrieves += 1
                    body = fake.anthropic_batch_json(batch) if batch.provider == "anthropic" else fake.openai_batch_json(batch)
                    return self._send(200, body)
                match = re.fullmatch(r"/v1/files/([\w-]+)/content", path)
                if match and match.group(1) in fake.files:
                    return self._send(200, fake.files[match.group(1)], "application/octet-stream")
                self._send(404, {"error": {"type": "not_found", "message": path}})

        return Handler


def _multipart_file(content_type: str, body: bytes) -> bytes:
    """The `file` part of a multipart/form-data upload."""
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    for part in body.split(b"--" + boundary):
        head, _, data = part.partition(b"\r\n\r\n")
        if b'name="file"' in head:
            return data[: -2] if data.endswith(b"\r\n") else data
    raise ValueError("no file part in the upload")


def run_main(root: str, fake: FakeProvider, monkeypatch: Any, capsys: Any) -> str:
    """Run `root/main.py` as `__main__` in this process (the SDKs import once, which saves
    seconds per run), pointed at `fake`, and return what it printed."""
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(root)
    capsys.readouterr()
    loaded = set(sys.modules)
    try:
        runpy.run_path(os.path.join(root, "main.py"), run_name="__main__")
    finally:
        for name in set(sys.modules) - loaded:  # the program's own modules: fresh for the next run
            if (getattr(sys.modules[name], "__file__", None) or "").startswith(root):
                del sys.modules[name]
    return capsys.readouterr().out
