"""The alert path: a failed check becomes exactly one alert, recorded in governance.alert and
posted to a webhook receiver on 127.0.0.1; evaluating the sensor again raises nothing new."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from assets.definitions import build_definitions
from assets.resources import GovernanceStore
from governance_pipeline import store
from tests.conftest import SPEC_DIR
from tests.fake_openai import FakeOpenAI


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.payloads.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_failed_check_gives_one_alert(
    demo_db: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVERNANCE_ALERT_WEBHOOK_URL", receiver.url)

    def wrong_enum(body: dict) -> str:
        return json.dumps(
            {
                "category": "refunds",
                "urgency": "high",
                "sentiment": "negative",
                "summary": "Wants money back.",
            }
        )

    defs = build_definitions(SPEC_DIR, str(demo_db))
    instance = dg.DagsterInstance.ephemeral()
    with FakeOpenAI(wrong_enum) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        result = defs.resolve_job_def("support_triage_job").execute_in_process(instance=instance)
    assert result.success
    failed = sorted(e.check_name for e in result.get_asset_check_evaluations() if not e.passed)
    assert failed == ["sla_compliance_rate", "sla_triage_compliance"]

    sensor = defs.resolve_sensor_def("governance_alerts")
    resources = {"store": GovernanceStore(db_path=str(demo_db))}
    context = dg.build_sensor_context(instance=instance, resources=resources)
    sensor(context)
    with store.connect(demo_db) as con:
        alerts = con.execute(
            "SELECT check_name, severity, run_id, delivered, message "
            "FROM governance.alert ORDER BY check_name"
        ).fetchall()
    assert [a[0] for a in alerts] == failed
    assert all(a[1] == "ERROR" and a[2] == result.run_id and a[3] for a in alerts)
    assert "BREACHED" in alerts[0][4]
    assert sorted(p["check_name"] for p in receiver.payloads) == failed

    # the cursor remembers: a second evaluation raises nothing new
    again = dg.build_sensor_context(instance=instance, resources=resources, cursor=context.cursor)
    sensor(again)
    assert len(receiver.payloads) == len(failed)
    with store.connect(demo_db) as con:
        assert con.execute("SELECT count(*) FROM governance.alert").fetchone()[0] == len(failed)
    assert "sk-test" not in json.dumps(receiver.payloads)
