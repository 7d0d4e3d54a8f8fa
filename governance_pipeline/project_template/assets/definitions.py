"""This project's Dagster code location: one governed job per spec in specs/.

Add your own assets beside the governed ones:

    import dagster as dg
    defs = dg.Definitions.merge(governed_definitions(__file__), dg.Definitions(assets=[...]))
"""

from governance_pipeline.dagster import governed_definitions

defs = governed_definitions(__file__)
