"""Executors of the stateful APIs: one module per API (Responses, Assistants runs, vector-store ingestion).

An executor takes a stored object's id, runs it through the shared pieces (the generation pipeline,
repositories) and yields its API's events; a streaming request encodes them as they come, and a
background job (``jobs.py``) drains the same generator, persisting at step boundaries (never per
delta). Every state change is one conditional statement, so a redelivered job is harmless.
"""
