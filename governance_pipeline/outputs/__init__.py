"""The output side of a job: every answer held to the behaviour contract.

rules         the checks an output can be held to (a package: fields, text, custom)
contracts     the contract of a spec: the schema and every policy's rule, per answer
outcomes      judge, ledger (one disposition per row), the publication gate, publish
dispositions  how a row can end (`Disposition`), the one vocabulary of the ledger
evals         the spec's worked examples, against the contract and through the model
"""
