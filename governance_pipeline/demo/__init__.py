"""Demo sources: generated tables for the example jobs (`govern demo`).

tickets  support tickets with PII, typos and bad rows (raw.support_tickets)
sources  product reviews and contract clauses; the generator of each demo job
"""
