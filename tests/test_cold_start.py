"""Cold start: the Worker's entry module loads the whole app at its top level (inside the deploy-time
memory snapshot), and nothing it imports reads entropy, the clock, the network or the environment.

Run under CPython in the stand-in world (the Pyodide suite checks the same import in real Pyodide).
The same guard (``tests/in_pyodide/snapshot.py``) holds for the local server's CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .worker_world import worker_world

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "openai_workers_ai"
LOCAL_ONLY = {"uvicorn", "uvloop", "httptools", "aiohttp", "yarl", "multidict", "aiohappyeyeballs", "httpx", "numpy",
              "sqlite3", "_sqlite3", "socketserver", "http.server", "multiprocessing", "openai_workers_ai.cli",
              "openai_workers_ai.adapters.local", "openai_workers_ai.adapters.local_vectors",
              "openai_workers_ai.adapters.local_jobs",
              "openai_workers_ai.simulator", "openai_workers_ai.processes", "openai_workers_ai.server_protocol"}

SCRIPT = """
    import json
    sys.path.insert(0, "tests/in_pyodide")
    from snapshot import import_entry
    print(json.dumps(import_entry({module!r}, {libraries!r})))
"""


def snapshot(module: str = "entry", libraries: tuple[str, ...] = ()) -> dict[str, list[str]]:
    script = SCRIPT.format(module=module, libraries=libraries)
    result: dict[str, list[str]] = json.loads(worker_world(script).splitlines()[-1])
    return result


def modules_under(folder: str) -> set[str]:
    out = set()
    for path in (PACKAGE / folder).rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        out.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


@pytest.fixture(scope="module")
def entry() -> dict[str, list[str]]:
    return snapshot()


def test_nothing_read_entropy_the_clock_or_the_environment(entry: dict[str, list[str]]) -> None:
    assert entry["entropy_attempts"] == []


def test_the_app_every_route_and_every_api_type_load_at_the_top_level(entry: dict[str, list[str]]) -> None:
    loaded = set(entry["loaded"])
    expected = {"openai_workers_ai.app", "openai_workers_ai.jobs", "openai_workers_ai.adapters.workers",
                "openai_workers_ai.catalog.models", "openai_workers_ai.workers_ai.pipeline", "workers.asgi",
                "pydantic", "starlette.applications"}
    expected |= modules_under("routes") | modules_under("types") | modules_under("translate")
    assert expected - loaded == set()
    # Every module of the package the Worker can reach: none is left to a request to import.
    assert modules_under(".") - LOCAL_ONLY - modules_under("simulator") - loaded == set()


def test_nothing_local_only_loads(entry: dict[str, list[str]]) -> None:
    assert LOCAL_ONLY & set(entry["loaded"]) == set()


# Each probe is a module of project code (the guard treats ``openai_workers_ai*`` as the project's).
REFUSED = {
    "secrets": "import secrets\nKEY = secrets.token_hex(8)",
    "time": "import time\nSTARTED = time.time()",
    "monotonic": "import time\nSTARTED = time.monotonic()",
    "perf_counter": "from time import perf_counter\nSTARTED = perf_counter()",
    "datetime_now": "import datetime\nSTARTED = datetime.datetime.now()",
    "datetime_today": "from datetime import datetime\nSTARTED = datetime.today()",
    "datetime_utcnow": "import datetime\nSTARTED = datetime.datetime.utcnow()",
    "date_today": "from datetime import date\nTODAY = date.today()",
    "random_instance": "import random\nRNG = random.Random()",
    "random_reseeded": "import random\nrandom.seed()",
    "system_random": "import random\nKEY = random.SystemRandom().random()",
    "system_random_choice": "from random import SystemRandom\nKEY = SystemRandom().choice('abc')",
    "environ_get": "import os\nREGION = os.environ.get('REGION')",
    "getenv": "import os\nREGION = os.getenv('REGION')",
    "environ_copy": "import os\nENV = os.environ.copy()",
    "environ_iterated": "import os\nNAMES = [name for name in os.environ]",
    "environ_items": "import os\nENV = dict(os.environ.items())",
    "environ_dict": "import os\nENV = dict(os.environ)",
}
ACCEPTED = {  # deterministic: nothing to freeze that an isolate should draw for itself
    "seeded_random": "import random\nRNG = random.Random(42)\nFIRST = RNG.random()",
    "system_random_kept": "import random\nRNG = random.SystemRandom()",
    "a_fixed_date": "import datetime\nEPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)",
    "clocks_kept_not_read": "import time\nfrom time import monotonic\nCLOCKS = (time.time, monotonic)",
}


def test_the_guard_catches_what_it_must(tmp_path: Path) -> None:
    """The guard itself: project code that draws entropy, reads the clock or the environment at import
    fails, whichever way it reaches them; code that only keeps a clock or seeds its own generator does not."""
    probes = tmp_path / "openai_workers_ai_probes"
    probes.mkdir()
    for name, body in {**REFUSED, **ACCEPTED}.items():
        (probes / f"{name}.py").write_text(body + "\n")
    out = worker_world(f"""
        import json
        sys.path[:0] = ["tests/in_pyodide", {str(tmp_path)!r}]
        from snapshot import import_entry
        outcomes = {{}}
        for name in {sorted({**REFUSED, **ACCEPTED})!r}:
            try:
                outcomes[name] = import_entry("openai_workers_ai_probes." + name)["entropy_attempts"]
            except RuntimeError as exc:
                outcomes[name] = "refused: " + str(exc)
        # once an import is over, what it kept answers as the original does
        import datetime, os, random, time
        from openai_workers_ai_probes import clocks_kept_not_read as kept
        assert kept.monotonic is time.monotonic and kept.CLOCKS[0]() > 0 and kept.CLOCKS[1]() > 0
        assert type(datetime.datetime.now()) is datetime.datetime and isinstance(os.environ, os._Environ)
        random.Random().random()
        print(json.dumps(outcomes))
    """)
    outcomes = json.loads(out.splitlines()[-1])
    assert {name for name in REFUSED if not str(outcomes[name]).startswith("refused: ")} == set()
    assert {name: outcomes[name] for name in ACCEPTED} == dict.fromkeys(ACCEPTED, [])


def test_the_local_server_imports_cleanly_too() -> None:
    """The CLI's own modules too (its server libraries may seed themselves: there is no snapshot there)."""
    assert snapshot("openai_workers_ai.cli", ("uvicorn", "httpx", "sqlite3", "aiohttp"))["entropy_attempts"] == []


# ---- what the snapshot holds: nothing static is left for an isolate to build -------------------------

ISOLATE = """
    import json
    sys.path.insert(0, "tests/in_pyodide")
    from snapshot import import_entry
    import_entry()
    import entry
    from openai_workers_ai import spec_rules, validation

    def built():
        return {"rules": len(spec_rules._VALID), "candidates": len(spec_rules._CANDIDATES),
                "tags": len(spec_rules._TAGS), "list_limits": validation._limits.cache_info().currsize,
                "modules": sorted(sys.modules)}

    reply = JsObject([("response", "hi"), ("usage", JsObject([("prompt_tokens", 3), ("completion_tokens", 1),
                                                              ("total_tokens", 4)]))])
    env = Env(AI=FakeAI(result=reply), DB=FakeD1(), BUCKET=FakeR2(), ACCESS_TOKEN="sk-a")  # (FakeD1 loads sqlite3)
    at_import = built()
    uncompiled = [name for name, node in spec_rules.SCHEMAS.items() if id(node) not in spec_rules._VALID]
    app = entry._app(env)
    after_build = built()

    async def post(path, body):
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "https", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(b"authorization", b"Bearer sk-a"), (b"content-type", b"application/json")]}
        messages = [{"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}]
        statuses = []

        async def receive():
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope, receive, send)
        return statuses[0]

    async def first_requests():
        model = "@cf/meta/llama-3.1-8b-instruct"
        return [await post("/v1/chat/completions", {"model": model, "messages": [{"role": "user", "content": "hi"}]}),
                await post("/v1/chat/completions", {"model": model, "messages": [{"role": "user", "content": 5}]}),
                await post("/v1/chat/completions", {"model": model, "messages": [{"role": "user", "content": "hi"}],
                                                    "tools": [{"type": "function", "function": {"name": "f"}}],
                                                    "tool_choice": 7}),
                await post("/api/chat", {"model": "llama3.1:8b", "messages": [{"role": "user", "content": "hi"}],
                                         "stream": False})]

    statuses = run(first_requests())
    print(json.dumps({"uncompiled": uncompiled, "schemas": len(spec_rules.SCHEMAS), "at_import": at_import,
                      "after_build": after_build, "after_requests": built(), "statuses": statuses}))
"""


@pytest.fixture(scope="module")
def isolate() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(worker_world(ISOLATE).splitlines()[-1])
    return result


def test_openai_rules_are_compiled_at_import(isolate: dict[str, Any]) -> None:
    """Every request schema's compiled rules are in the snapshot (~5 ms of CPU, else on an isolate's
    first request)."""
    assert isolate["schemas"] > 0 and isolate["uncompiled"] == []
    assert isolate["at_import"]["rules"] > isolate["schemas"]  # the schemas' parts too


def test_neither_the_build_nor_the_first_requests_build_anything_static(isolate: dict[str, Any]) -> None:
    """What an isolate's build and its first requests (a chat, two 400s, an Ollama chat) add to the
    compiled rules, the unions' candidates, the request models' limits and the loaded modules: nothing."""
    assert isolate["statuses"] == [200, 400, 400, 200]
    for after in ("after_build", "after_requests"):
        assert isolate[after] == isolate["at_import"], after


def test_create_app_matches_no_route_and_reads_no_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """The route table's fixed paths are matched once, at import (``app.FIXED``), and the built-in
    catalog's lookup tables built once: ``create_app`` does neither (nor does a fixed path's request)."""
    from starlette import routing as starlette_routing
    from starlette.testclient import TestClient

    from openai_workers_ai import app as app_module
    from openai_workers_ai.catalog import catalog as catalog_module
    from openai_workers_ai.ports import Backends
    from openai_workers_ai.settings import Settings
    from openai_workers_ai.simulator import Simulator

    assert ("POST", "/v1/chat/completions") in app_module.FIXED and ("GET", "/llm/ollama/api/tags") in app_module.FIXED

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("worked out per app: it is static")

    for route_type in (starlette_routing.Route, starlette_routing.Mount, starlette_routing.WebSocketRoute):
        monkeypatch.setattr(route_type, "matches", refused)
    monkeypatch.setattr(catalog_module, "short_name", refused)
    built = app_module.create_app(Backends(Simulator(keep_calls=0), None, None),  # type: ignore[arg-type]
                                  Settings(access_token=("sk-a",), model_aliases={"house": "@cf/meta/llama-3.1-8b-instruct"}))
    assert built.router.fixed is app_module.FIXED  # type: ignore[attr-defined]  # (the project's Router)
    assert built.state.ctx.catalog.resolve("HOUSE").id == "@cf/meta/llama-3.1-8b-instruct"
    with TestClient(built) as client:
        assert client.get("/v1/models", headers={"Authorization": "Bearer sk-a"}).status_code == 200
