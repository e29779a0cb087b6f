"""Implementations of :mod:`openai_workers_ai.ports` over the outside world.

``adapters.workers`` wraps the Worker's bindings and imports ``js``: only the
Worker loads it. ``adapters.upstream`` (what a Workers AI error means) is pure.
"""
