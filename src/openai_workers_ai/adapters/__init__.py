"""Implementations of :mod:`openai_workers_ai.ports` over the outside world.

``adapters.workers`` wraps the Worker's bindings, with ``adapters.workers_convert``
(Python ⇄ JS values); both import ``js``: only the Worker loads them. ``adapters.upstream`` (what a Workers AI error means) is pure.
"""
