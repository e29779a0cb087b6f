"""The Worker in real Pyodide (``tests/in_pyodide/run``): see ``docs/pyodide.md``.

The Python modules here run inside Pyodide (``snapshot``, ``measure``) and, for the figures'
baseline, under CPython (``measure``); the scenarios and the ``env`` stand-ins are JavaScript.
"""
