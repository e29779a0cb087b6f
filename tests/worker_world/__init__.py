"""The Worker under CPython: a stand-in world of ``js``, ``pyodide`` and workerd's helper modules.

The Worker itself runs in real Pyodide in ``tests/in_pyodide`` (``docs/pyodide.md``); this world keeps
the adapter checks that suite cannot drive (see ``tests/test_worker_shell.py``) running in every pytest.
:func:`worker_world` runs a script in a fresh interpreter where :mod:`.prelude` has registered these
modules under the names the Worker imports; the adapters and the *real* ``workers`` SDK
(``workers-runtime-sdk``, from the dev dependencies) run on top of them. The stand-ins mirror Pyodide's
documented conversions (``to_js`` with ``dict_converter``, ``JsBuffer``'s ``assign``/``to_bytes``,
``jsnull``, ``JsException.name``/``.message``); ``env`` bindings are in :mod:`.bindings`.

Nothing here is imported by the tests' own process except this module, which has no side effects.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRELUDE = "from tests.worker_world.prelude import *  # noqa: F403\n"


def worker_world(code: str) -> str:
    """Run ``code`` in a fresh interpreter after the prelude (its names in scope); return its stdout."""
    proc = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, f"stand-in world failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout
