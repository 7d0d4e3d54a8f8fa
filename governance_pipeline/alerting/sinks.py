"""Delivery of one alert to one sink: the payload each sink expects, and the send.

A send raises `DeliveryError` saying whether another try may help (a 5xx, a 429, a timeout or
a refused connection) or not (a 4xx: the sink is misconfigured). Messages never hold a URL,
key or password: only the sink, a status code or an exception class.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import smtplib
import time
from email.message import EmailMessage
from typing import Any

import httpx

from governance_pipeline.alerting.config import (
    PAGERDUTY_EVENTS_URL,
    EmailSink,
    LogSink,
    PagerDutySink,
    Sink,
    SlackSink,
    WebhookSink,
)
from governance_pipeline.alerting.model import Alert, AlertKind
from governance_pipeline.errors import DeliveryError, SinkNotConfiguredError

log = logging.getLogger("governance_pipeline.alerts")


def _env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise SinkNotConfiguredError(f"${name} is not set")
    return value


def send(sink: Sink, alert: Alert, timeout: float) -> None:
    """Deliver `alert` to `sink` once.

    Raises:
        SinkNotConfiguredError: the sink's variable is unset.
        DeliveryError: the sink did not take the alert.
    """
    if isinstance(sink, LogSink):
        level = logging.INFO if alert.kind is AlertKind.RECOVERY else logging.WARNING
        log.log(level, "%s: %s (alert %s)", alert.title, alert.message, alert.alert_id)
    elif isinstance(sink, SlackSink):
        _post(_env(sink.url_env), json.dumps(slack_payload(alert)).encode(), {}, timeout)
    elif isinstance(sink, WebhookSink):
        url = _env(sink.url_env)
        body = json.dumps(alert.as_payload(), sort_keys=True).encode()
        headers = {}
        if sink.secret_env is not None:
            secret = os.environ.get(sink.secret_env, "")
            if not secret:
                raise DeliveryError(
                    f"${sink.secret_env} is not set: an unsigned alert is not sent", False
                )
            stamp = str(int(time.time()))
            headers["X-Governance-Timestamp"] = stamp
            headers[sink.signature_header] = "sha256=" + sign(secret, stamp, body)
        _post(url, body, headers, timeout)
    elif isinstance(sink, PagerDutySink):
        url = os.environ.get(sink.url_env, "").strip() or PAGERDUTY_EVENTS_URL
        payload = pagerduty_payload(alert, _env(sink.routing_key_env))
        _post(url, json.dumps(payload).encode(), {}, timeout)
    elif isinstance(sink, EmailSink):
        _mail(sink, alert, timeout)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 of `<timestamp>.<body>` under the secret, in hex."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def slack_payload(alert: Alert) -> dict[str, Any]:
    """An incoming-webhook message: a fallback `text` and blocks."""
    icon = ":white_check_mark:" if alert.kind is AlertKind.RECOVERY else ":rotating_light:"
    details = " · ".join(
        f"{k}: {v}" for k, v in alert.metadata.items() if k in ("measured", "threshold", "window")
    )
    return {
        "text": f"{alert.title}: {alert.message}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} *{alert.title}*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": alert.message}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"run `{alert.run_id}` · incident `{alert.incident_id}`"
                        + (f" · {details}" if details else ""),
                    }
                ],
            },
        ],
    }


def pagerduty_payload(alert: Alert, routing_key: str) -> dict[str, Any]:
    """An Events API v2 event: trigger on a breach, resolve on its recovery."""
    recovery = alert.kind is AlertKind.RECOVERY
    return {
        "routing_key": routing_key,
        "event_action": "resolve" if recovery else "trigger",
        "dedup_key": alert.incident_id,
        "payload": {
            "summary": f"{alert.title}: {alert.message}"[:1024],
            "source": f"governance-pipeline/{alert.job}",
            "severity": "info" if recovery else "error" if alert.severity == "ERROR" else "warning",
            "component": alert.job,
            "group": "governance",
            "class": alert.check_name,
            "custom_details": {"run_id": alert.run_id, **alert.metadata},
        },
    }


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    try:
        response = httpx.post(
            url,
            content=body,
            headers={"Content-Type": "application/json", **headers},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise DeliveryError(f"unreachable: {type(exc).__name__}", True) from None
    if response.status_code >= 400:
        retriable = response.status_code == 429 or response.status_code >= 500
        raise DeliveryError(f"answered {response.status_code}", retriable)


def _mail(sink: EmailSink, alert: Alert, timeout: float) -> None:
    message = EmailMessage()
    message["Subject"] = alert.title
    message["From"] = sink.sender
    message["To"] = ", ".join(sink.to)
    lines = [alert.message, "", *(f"{k}: {v}" for k, v in alert.as_payload().items())]
    message.set_content("\n".join(lines))
    host, _, port = (sink.host or _env(sink.host_env)).partition(":")
    try:
        with smtplib.SMTP(host, int(port or sink.port), timeout=timeout) as smtp:
            if sink.starttls:
                smtp.starttls()
            if sink.username_env and sink.password_env:
                smtp.login(_env(sink.username_env), _env(sink.password_env))
            smtp.send_message(message)
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"SMTP answered {exc.smtp_code}", exc.smtp_code >= 400) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP failed: {type(exc).__name__}", True) from None
