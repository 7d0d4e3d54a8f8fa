"""A fake OpenAI-compatible HTTP server for tests, bound to 127.0.0.1.

Tests never reach the network: point the real ``openai`` client at ``FakeOpenAI.base_url``
and the fake answers like the far end would, including its failures.

    with FakeOpenAI(lambda body: '{"ok": true}') as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        client.chat.completions.create(model="fake-model", messages=[...])
        assert server.calls == 1

Endpoints:
    GET  /v1/models             a list holding the one model (``model``)
    POST /v1/chat/completions   a ChatCompletion whose content is ``responder(request_body)``
    POST /v1/files              upload (multipart), kept in ``files`` by id
    GET  /v1/files/{id}[/content]  the file object, or its bytes
    POST /v1/batches            a Batch over an uploaded JSONL file, kept in ``batches`` by id
    GET  /v1/batches/{id}       the Batch; see "Batches" below
    anything else               404 with an OpenAI-shaped error body

Batches: a new batch is ``validating``; each retrieval after that shows ``in_progress`` until
``batch_polls`` retrievals have been seen, then the batch runs at once and is ``completed``,
with an output file (200 lines) and, if any line failed, an error file. Each line is answered
by ``responder`` and draws a fault like a chat request does (``schedule``, then ``faults``): a
"429" line fails with status 429, an answer kind ("empty", "no_content", "length",
"content_filter") is a 200 line with that answer, any other fault kind fails with status 500.
Bodies of the lines run are appended to ``batch_requests``; ``calls`` counts chat completions
only. With ``batch_outcome`` set to "expired", "failed" or "cancelled", a batch ends so, with no
lines run.

Faults, decided per chat-completion request (``calls`` counts faulted requests too):
    "429"        429 + OpenAI-shaped error; ``Retry-After`` header when ``retry_after`` is set
    "500"        500 + OpenAI-shaped error
    "timeout"    hangs ``hang_seconds`` (default 30) before answering normally; ``stop()``
                 cuts the hang short and closes the connection without an answer
    "drop"       closes the connection without sending any response
    "malformed"  200, ``Content-Type: application/json``, body that is not valid JSON

Answer kinds: a 200 ChatCompletion that brings no usable answer, with the usage a real
endpoint bills for it (the prompt's tokens, and what was generated):
    "empty"           ``choices: []``, no completion tokens
    "no_content"      one choice, ``content: null``, ``finish_reason: stop``
    "length"          the responder's content cut in half, ``finish_reason: length``, and
                      ``completion_tokens`` the request's ``max_tokens``
    "content_filter"  one choice, ``content: null``, ``finish_reason: content_filter``

Usage: ``prompt_tokens`` is ceil(characters of the messages / 4) times ``prompt_token_factor``
(default 1), rounded up: a factor above 1 is an endpoint that counts more than the estimate;
``completion_tokens`` is ceil(characters of the content / 4).

Which fault (if any) hits a request:
    1. ``down`` is True          -> 503 for every request (all endpoints); no fault is drawn and
                                    no schedule slot is used.
    2. ``schedule`` not used up  -> the next entry decides: a kind string, a ``Fault`` (to give
                                    a 429 its ``retry_after``), or None for a normal answer.
                                    A bare "429" takes ``retry_after`` from the first "429"
                                    ``Fault`` in ``faults``, if any.
    3. otherwise                 -> each ``Fault`` in ``faults`` is drawn in order with the seeded
                                    RNG (one draw per fault per request, so runs replay); the
                                    first hit wins.

A responder that raises (or returns a non-str) gets a 500 with ``x-should-retry: false`` so the
client does not retry a bug in the test; the exception is kept in ``server_errors``.
Streaming (``stream: true``) is not supported and gets a 400.

Run alone (``python -m tests.fake_openai --latency 0.05``) it serves until killed and prints
its base URL on the first line of stdout: for benchmarks that keep the server out of the
measured process.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import json
import math
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from governance_pipeline.llm.prompts import DATA_CLOSE, DATA_OPEN

__all__ = ["Fault", "FaultKind", "FakeOpenAI", "Responder", "parse_data_block"]

Responder = Callable[[dict], str]
FaultKind = Literal[
    "429", "500", "timeout", "drop", "malformed", "empty", "no_content", "length", "content_filter"
]
_ANSWER_KINDS: frozenset[str] = frozenset({"empty", "no_content", "length", "content_filter"})
_KINDS: frozenset[str] = frozenset({"429", "500", "timeout", "drop", "malformed"}) | _ANSWER_KINDS


@dataclass
class Fault:
    """One injected fault kind, hitting each request with probability ``rate`` (seeded RNG)."""

    kind: FaultKind
    rate: float = 0.0
    retry_after: float | None = None  # seconds, sent as the Retry-After header of a 429

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be within [0, 1], got {self.rate!r}")


def parse_data_block(content: str) -> dict[str, Any]:
    """The row back out of a user message (`prompts.data_block`), as a responder reads it."""
    start = content.index(DATA_OPEN) + len(DATA_OPEN)
    end = content.index(DATA_CLOSE, start)
    return dict(json.loads(content[start:end]))


def _default_responder(body: dict) -> str:
    return "{}"


def _content_chars(content: Any) -> int:
    """Characters of text in a message ``content`` (a string or a list of content parts)."""
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        total = 0
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                total += len(part["text"])
            elif isinstance(part, str):
                total += len(part)
        return total
    return 0


def _prompt_tokens(body: dict, factor: float = 1.0) -> int:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    chars = sum(_content_chars(m.get("content")) for m in messages if isinstance(m, dict))
    return math.ceil(math.ceil(chars / 4) * factor)


def _error_body(message: str, type_: str, code: str | None) -> dict:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # listen backlog: the default 5 resets connections opened together
    fake: FakeOpenAI

    def handle_error(self, request: Any, client_address: Any) -> None:  # no traceback on stderr
        import sys

        exc = sys.exc_info()[1]
        if exc is not None:
            self.fake._record_error(exc)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API; every answer has Content-Length
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid 40 ms stalls
    server: _Server
    server_version = "FakeOpenAI/1.0"

    # --- plumbing -------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        pass

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._untrack(self.connection)

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), headers)

    def _send_raw(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:24]}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_error(
        self,
        status: int,
        message: str,
        type_: str,
        code: str | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._send_json(status, _error_body(message, type_, code), headers)

    def _drop(self) -> None:
        """Close the connection without a response."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _down(self) -> bool:
        if self.server.fake.down:
            self._send_error(
                503,
                "The server is overloaded or not ready yet.",
                "server_error",
                "service_unavailable",
            )
            return True
        return False

    # --- endpoints ------------------------------------------------------------------------

    def do_GET(self) -> None:
        fake = self.server.fake
        path = self.path.split("?", 1)[0].rstrip("/")
        if self._down():
            return
        if path == "/v1/models":
            if not fake._pause(fake.latency):
                return self._drop()
            self._send_json(200, {"object": "list", "data": [fake._model_card()]})
        elif path == f"/v1/models/{fake.model}":
            self._send_json(200, fake._model_card())
        elif path.startswith("/v1/files/") and path.endswith("/content"):
            file = fake.files.get(path.split("/")[3])
            if file is None:
                return self._not_found("file", path)
            self._send_raw(200, file["content"])
        elif path.startswith("/v1/files/"):
            file = fake.files.get(path.split("/")[3])
            if file is None:
                return self._not_found("file", path)
            self._send_json(200, {k: v for k, v in file.items() if k != "content"})
        elif path.startswith("/v1/batches/"):
            batch = fake._poll_batch(path.split("/")[3])
            if batch is None:
                return self._not_found("batch", path)
            self._send_json(200, batch)
        else:
            self._send_error(
                404, f"Unknown request URL: GET {path}.", "invalid_request_error", "unknown_url"
            )

    def do_POST(self) -> None:
        fake = self.server.fake
        path = self.path.split("?", 1)[0].rstrip("/")
        raw = self._read_body()
        if path in ("/v1/files", "/v1/batches"):
            if self._down():
                return
            if path == "/v1/files":
                return self._upload(raw)
            return self._create_batch(raw)
        if path != "/v1/chat/completions":
            if not self._down():
                self._send_error(
                    404,
                    f"Unknown request URL: POST {path}.",
                    "invalid_request_error",
                    "unknown_url",
                )
            return

        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        fake._record_call(body if isinstance(body, dict) else None)
        if self._down():
            return
        fault = fake._next_fault()

        if fake.latency > 0 and not fake._pause(fake.latency):
            return self._drop()  # stopping

        if fault is not None:
            kind = fault.kind
            if kind == "429":
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = f"{fault.retry_after:g}"
                return self._send_error(
                    429,
                    "Rate limit reached for requests (injected by FakeOpenAI).",
                    "requests",
                    "rate_limit_exceeded",
                    headers,
                )
            if kind == "500":
                return self._send_error(
                    500,
                    "The server had an error while processing your request "
                    "(injected by FakeOpenAI).",
                    "server_error",
                    None,
                )
            if kind == "drop":
                return self._drop()
            if kind == "malformed":
                return self._send_raw(
                    200,
                    b'{"id": "chatcmpl-fake", "object": "chat.completion", '
                    b'"choices": [{"message": {"content": "trunc',
                )
            if kind == "timeout":
                if not fake._pause(fake.hang_seconds):
                    return self._drop()  # stop() cut the hang short
                # a slow server that does answer eventually: fall through to a normal answer
            # an answer kind: falls through to a 200 with that answer

        if not isinstance(body, dict):
            return self._send_error(
                400,
                "We could not parse the JSON body of your request.",
                "invalid_request_error",
                None,
            )
        if body.get("stream"):
            return self._send_error(
                400,
                "FakeOpenAI does not support stream=true.",
                "invalid_request_error",
                "unsupported_parameter",
                {"x-should-retry": "false"},
            )
        try:
            content = fake.responder(body)
            if not isinstance(content, str):
                raise TypeError(f"responder must return str, got {type(content).__name__}")
        except Exception as exc:  # a bug in the test's responder: surface it, don't retry it
            fake._record_error(exc)
            return self._send_error(
                500,
                f"FakeOpenAI responder raised {exc!r}",
                "server_error",
                "responder_error",
                {"x-should-retry": "false"},
            )
        kind = fault.kind if fault is not None and fault.kind in _ANSWER_KINDS else None
        self._send_json(200, fake._completion(body, content, kind))

    # --- files and batches ----------------------------------------------------------------

    def _not_found(self, what: str, path: str) -> None:
        self._send_error(404, f"No such {what}: {path}", "invalid_request_error", "not_found")

    def _upload(self, raw: bytes) -> None:
        """POST /v1/files: a multipart form with ``purpose`` and ``file``."""
        header = f"Content-Type: {self.headers.get('Content-Type', '')}\r\n\r\n".encode()
        form = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + raw)
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in form.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = (part.get_filename(), payload)
        if "file" not in fields or "purpose" not in fields:
            return self._send_error(
                400,
                "Expected multipart fields 'file' and 'purpose'.",
                "invalid_request_error",
                None,
            )
        filename, content = fields["file"]
        purpose = fields["purpose"][1].decode()
        self._send_json(200, self.server.fake._add_file(filename or "upload", purpose, content))

    def _create_batch(self, raw: bytes) -> None:
        """POST /v1/batches: a batch over an uploaded file of chat-completion requests."""
        fake = self.server.fake
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        if body.get("input_file_id") not in fake.files:
            return self._send_error(
                400,
                f"Invalid input_file_id {body.get('input_file_id')!r}: upload it first.",
                "invalid_request_error",
                "invalid_file",
            )
        if body.get("endpoint") != "/v1/chat/completions":
            return self._send_error(
                400,
                "FakeOpenAI batches support endpoint /v1/chat/completions only.",
                "invalid_request_error",
                "unsupported_endpoint",
            )
        self._send_json(200, fake._add_batch(body))


class FakeOpenAI:
    """An OpenAI-compatible server on 127.0.0.1 (random port) that runs in a daemon thread."""

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        latency: float = 0.0,
        faults: Sequence[Fault] = (),
        seed: int = 0,
        model: str = "fake-model",
        schedule: Sequence[str | Fault | None] | None = None,
        hang_seconds: float = 30.0,
        batch_polls: int = 1,
        batch_outcome: str = "completed",
        prompt_token_factor: float = 1.0,
    ) -> None:
        self.responder: Responder = responder or _default_responder
        self.latency = latency
        self.faults: list[Fault] = list(faults)
        self.seed = seed
        self.model = model
        self.schedule: list[Fault | None] = [self._as_fault(s) for s in (schedule or ())]
        self.hang_seconds = hang_seconds
        self.batch_polls = batch_polls
        self.batch_outcome = batch_outcome
        self.prompt_token_factor = prompt_token_factor
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_requests: list[dict] = []
        self.down: bool = False
        self.served_model: str | None = None
        """The `model` answers name (default: the request's), as OpenAI names a snapshot."""
        self.system_fingerprint: str | None = None
        """The `system_fingerprint` answers carry (default: none)."""
        self.base_url: str = ""
        self.requests: list[dict] = []
        self.arrivals: list[float] = []
        """`time.time()` of each chat-completion request as it arrived."""
        self.server_errors: list[BaseException] = []  # responder errors, socket errors

        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._calls = 0
        self._scheduled = 0
        self._created = int(time.time())
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # --- public ---------------------------------------------------------------------------

    @property
    def calls(self) -> int:
        """Chat-completion requests received, faulted and 503-while-down ones included."""
        with self._lock:
            return self._calls

    def start(self) -> FakeOpenAI:
        if self._server is not None:
            raise RuntimeError("FakeOpenAI is already started")
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        host, port = server.server_address[:2]
        self.base_url = f"http://{host}:{port}/v1"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeOpenAI:{port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; cuts hangs and latency short. Idempotent, returns promptly."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # wakes keep-alive handlers blocked reading the next request
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FakeOpenAI(base_url={self.base_url!r}, calls={self.calls}, down={self.down})"

    # --- used by the handler --------------------------------------------------------------

    def _as_fault(self, entry: str | Fault | None) -> Fault | None:
        if entry is None or isinstance(entry, Fault):
            return entry
        if not isinstance(entry, str):  # a Fault from a second import of this module
            return Fault(entry.kind, entry.rate, entry.retry_after)
        if entry == "429":
            configured = next((f for f in self.faults if f.kind == "429"), None)
            return Fault("429", retry_after=configured.retry_after if configured else None)
        return Fault(entry)  # type: ignore[arg-type]  # validated in Fault.__post_init__

    def _record_call(self, body: dict | None) -> None:
        with self._lock:
            self._calls += 1
            self.arrivals.append(time.time())
            if body is not None:
                self.requests.append(body)

    def _record_error(self, exc: BaseException) -> None:
        with self._lock:
            self.server_errors.append(exc)

    def _next_fault(self) -> Fault | None:
        with self._lock:
            if self._scheduled < len(self.schedule):
                self._scheduled += 1
                return self.schedule[self._scheduled - 1]
            hit: Fault | None = None
            for fault in self.faults:
                draw = self._rng.random()  # always draw, so the sequence replays per seed
                if hit is None and draw < fault.rate:
                    hit = fault
            return hit

    def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds``; False if stop() cut it short."""
        if seconds <= 0:
            return not self._stopping.is_set()
        return not self._stopping.wait(seconds)

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    def _model_card(self) -> dict:
        return {"id": self.model, "object": "model", "created": self._created, "owned_by": "fake"}

    def _add_file(self, filename: str, purpose: str, content: bytes) -> dict[str, Any]:
        file = {
            "id": f"file-{uuid.uuid4().hex[:24]}",
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "content": content,
        }
        with self._lock:
            self.files[file["id"]] = file
        return {k: v for k, v in file.items() if k != "content"}

    def _add_batch(self, body: dict) -> dict[str, Any]:
        batch = {
            "id": f"batch_{uuid.uuid4().hex[:24]}",
            "object": "batch",
            "endpoint": body["endpoint"],
            "input_file_id": body["input_file_id"],
            "completion_window": body.get("completion_window", "24h"),
            "status": "validating",
            "created_at": int(time.time()),
            "metadata": body.get("metadata"),
            "output_file_id": None,
            "error_file_id": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "_polls": 0,
        }
        with self._lock:
            self.batches[batch["id"]] = batch
        return {k: v for k, v in batch.items() if not k.startswith("_")}

    def _poll_batch(self, batch_id: str) -> dict[str, Any] | None:
        """The batch as a retrieval sees it, advancing it (see the module docstring)."""
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return None
            if batch["status"] in ("validating", "in_progress"):
                batch["_polls"] += 1
                batch["status"] = "in_progress"
                run = batch["_polls"] > self.batch_polls
            else:
                run = False
        if run:
            self._run_batch(batch)
        return {k: v for k, v in batch.items() if not k.startswith("_")}

    def _run_batch(self, batch: dict[str, Any]) -> None:
        if self.batch_outcome != "completed":
            with self._lock:
                batch["status"] = self.batch_outcome
            return
        lines = self.files[batch["input_file_id"]]["content"].decode().splitlines()
        outputs, errors = [], []
        for line in filter(str.strip, lines):
            request = json.loads(line)
            body = request.get("body") or {}
            with self._lock:
                self.batch_requests.append(body)
            fault = self._next_fault()
            answer = {"id": f"batch_req_{uuid.uuid4().hex[:24]}", "custom_id": request["custom_id"]}
            kind = fault.kind if fault is not None and fault.kind in _ANSWER_KINDS else None
            content: object = None
            if fault is None or kind is not None:
                try:
                    content = self.responder(body)
                except Exception as exc:  # a bug in the test's responder: surface it
                    self._record_error(exc)
                    content = None
            if (fault is None or kind is not None) and isinstance(content, str):
                response = {"status_code": 200, "body": self._completion(body, content, kind)}
                outputs.append({**answer, "response": response, "error": None})
                continue
            status = 429 if fault is not None and fault.kind == "429" else 500
            error = _error_body("Injected by FakeOpenAI.", "server_error", str(status))
            errors.append({**answer, "response": {"status_code": status, "body": error}})
        with self._lock:
            for name, rows in (("output_file_id", outputs), ("error_file_id", errors)):
                if rows:
                    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
                    file_id = f"file-{uuid.uuid4().hex[:24]}"
                    self.files[file_id] = {
                        "id": file_id,
                        "object": "file",
                        "bytes": len(data),
                        "created_at": int(time.time()),
                        "filename": f"{batch['id']}_{name}.jsonl",
                        "purpose": "batch_output",
                        "status": "processed",
                        "content": data,
                    }
                    batch[name] = file_id
            batch["request_counts"] = {
                "total": len(outputs) + len(errors),
                "completed": len(outputs),
                "failed": len(errors),
            }
            batch["status"] = "completed"
            batch["completed_at"] = int(time.time())

    def _completion(self, body: dict, content: str, kind: str | None = None) -> dict:
        """A ChatCompletion answering ``content``, or the answer of an answer ``kind``."""
        prompt_tokens = _prompt_tokens(body, self.prompt_token_factor)
        text: str | None = content
        finish_reason = "stop"
        if kind == "length":
            text, finish_reason = content[: len(content) // 2], "length"
        elif kind in ("empty", "no_content", "content_filter"):
            text, finish_reason = None, "stop" if kind == "no_content" else "content_filter"
        completion_tokens = math.ceil(len(text or "") / 4)
        if kind == "length" and isinstance(body.get("max_tokens"), int):
            completion_tokens = body["max_tokens"]
        model = body.get("model") if isinstance(body.get("model"), str) else self.model
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": text, "refusal": None},
            "logprobs": None,
            "finish_reason": finish_reason,
        }
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.served_model or model,
            "system_fingerprint": self.system_fingerprint,
            "choices": [] if kind == "empty" else [choice],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def main() -> None:
    """Serve until killed; print the base URL first (for benchmarks in another process)."""
    parser = argparse.ArgumentParser(description="A fake OpenAI-compatible server on 127.0.0.1.")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--content", default="{}", help="the content of every answer")
    args = parser.parse_args()
    content = args.content
    with FakeOpenAI(lambda body: content, latency=args.latency) as server:
        print(server.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
