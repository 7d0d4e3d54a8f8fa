"""Why a call failed, in one line a person can act on, and whether the endpoint answers at all.

`cause` turns the exception that ended a call into the line `llm_call.error` keeps and the
ledger's reason repeats: `no answer from 127.0.0.1:9: connection refused`, `HTTP 500 from
api.example.com: <message, cut at 200 chars>`, `no answer within 60 s`. The host comes from
`safe_url`, so neither a key nor URL credentials reach the line.

`check_reachable` is the stage's first step: one TCP connection to the endpoint's host, so a
down or mistyped endpoint stops the stage with one line instead of failing every row after its
retries. Any HTTP answer (even 404 or 503) means the endpoint is alive; only no answer at all
(refused, unknown host, timeout) stops the stage.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import openai

from governance_pipeline.errors import EndpointError
from governance_pipeline.llm.endpoint import Endpoint, safe_url

MESSAGE_CHARS = 200
"""How much of an endpoint's error message a cause keeps."""


def host_of(base_url: str) -> str:
    """`host:port` of a base URL (the port only when the URL names one), credentials hidden."""
    netloc = urlsplit(safe_url(base_url)).netloc or safe_url(base_url)
    return netloc.rpartition("@")[2]


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"


def _root(exc: BaseException) -> BaseException:
    """The innermost cause of an exception chain (httpx's ConnectError, then the OSError)."""
    seen = {id(exc)}
    while exc.__cause__ is not None and id(exc.__cause__) not in seen:
        exc = exc.__cause__
        seen.add(id(exc))
    return exc


def _connection_cause(exc: BaseException) -> str:
    root = _root(exc)
    if isinstance(root, ConnectionRefusedError):
        return "connection refused"
    if isinstance(root, socket.gaierror):
        return "unknown host (DNS lookup failed)"
    if isinstance(root, TimeoutError) or "timed out" in str(root).lower():
        return "timed out"
    text = str(root).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text:
        return "unknown host (DNS lookup failed)"
    return _short(str(root) or type(root).__name__)


def cause(exc: BaseException, base_url: str, timeout_s: float | None = None) -> str:
    """One line saying why a call failed, naming the endpoint's host; never a credential."""
    host = host_of(base_url)
    if isinstance(exc, openai.APITimeoutError) or (
        isinstance(exc, TimeoutError) and not isinstance(exc, openai.APIError)
    ):
        return (
            f"no answer from {host} within {timeout_s:g} s"
            if timeout_s
            else (f"no answer from {host}: timed out")
        )
    if isinstance(exc, openai.APIStatusError):
        message = exc.message or exc.response.reason_phrase
        return f"HTTP {exc.status_code} from {host}: {_short(message)}"
    if isinstance(exc, openai.APIConnectionError):
        return f"no answer from {host}: {_connection_cause(exc)}"
    return f"unusable answer from {host}: {_short(str(exc) or type(exc).__name__)}"


def check_reachable(endpoint: Endpoint, timeout_s: float = 5.0) -> None:
    """Open (and close) one TCP connection to the endpoint's host.

    Raises:
        EndpointError: nothing answers there: connection refused, unknown host or timeout.
    """
    parts = urlsplit(endpoint.base_url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return
    except OSError as exc:
        why = _connection_cause(exc)
    raise EndpointError(
        f"the model endpoint {host_of(endpoint.base_url)} does not answer ({why}); no call was "
        "sent. Start the server, or set OPENAI_BASE_URL to one that runs (unset it and "
        "OPENAI_API_KEY for the embedded model)"
    )
