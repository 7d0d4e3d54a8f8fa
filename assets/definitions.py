"""This project's Dagster code location (what workspace.yaml loads for `govern ui` and
`dagster dev`): one governed job per spec in specs/. Add the project's own assets with
`dg.Definitions.merge(governed_definitions(__file__), dg.Definitions(assets=[...]))`."""

from governance_pipeline.dagster import governed_definitions

defs = governed_definitions(__file__)
