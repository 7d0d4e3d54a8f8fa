"""The Dagster definitions that workspace.yaml loads (`govern ui`, `dagster dev`): every job
spec in `$GOVERNANCE_SPEC_DIR` (default specs/), built by assets/build.py."""

import os

from assets.build import build_definitions

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
defs = build_definitions()
