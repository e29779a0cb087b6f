"""Implementations of :mod:`openai_workers_ai.ports` over the outside world.

``adapters.workers`` wraps the Worker's bindings, with ``adapters.workers_convert``
(Python ⇄ JS values); both import ``js``: only the Worker loads them. What a Workers AI
failure means is decided once, in :mod:`openai_workers_ai.workers_ai.errors`, for both.
"""
