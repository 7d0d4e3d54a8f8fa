"""The input side of a job: what may reach the model, and in what form.

expectations  the spec's source columns compiled to a Great Expectations suite
validation    the suite run over the source in chunks: per-row verdicts, batch failures
redaction     PII detectors, operators, the token vault (a package of its own)
names         the row's known names (customer_name...) redacted in its text
model_input   validated rows redacted and turned into hashed requests, in chunks
stages        the two input stages as the Dagster assets call them
"""
