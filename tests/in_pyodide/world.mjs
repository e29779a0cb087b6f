// The Worker's world inside real Pyodide under Node: Pyodide from npm, the Worker's dependencies
// from PyPI wheels, src/ mounted, the SDK (workers-runtime-sdk) from the project's venv, and workerd's
// two internal modules stubbed. Node provides the rest of what workerd would (Request, Response,
// Headers, ReadableStream, TransformStream, fetch), so Python's `js` module is real here; workerd's
// WebSocketPair (and a Response that may be a 101) is a stand-in, bindings/websocket.mjs.
//
// Configured by the environment (tests/in_pyodide/run sets it): PYODIDE_DIR (the npm package),
// PYODIDE_WHEELS (a folder of .whl files), WORKERS_SDK (the folder of the `workers` package).

import { readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { SimulatedAI } from "./bindings/ai.mjs";
import { SqliteD1 } from "./bindings/d1.mjs";
import { MemoryQueue } from "./bindings/queue.mjs";
import { MemoryR2 } from "./bindings/r2.mjs";
import { MemoryVectorize } from "./bindings/vectorize.mjs";
import { WebSocketPair, workersResponse } from "./bindings/websocket.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tests/in_pyodide/run`);
  return value;
}

function mount(pyodide, hostPath, at) {
  pyodide.FS.mkdirTree(at);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: hostPath }, at);
}

// Boots Pyodide once (one isolate) and imports the entry module as deploy time would.
export async function boot() {
  // workerd's WebSocket API, which Node lacks (bindings/websocket.mjs).
  globalThis.WebSocketPair = WebSocketPair;
  globalThis.Response = workersResponse(globalThis.Response);
  const timings = {};
  let start = performance.now();
  const { loadPyodide } = await import(join(required("PYODIDE_DIR"), "pyodide.mjs"));
  const pyodide = await loadPyodide({ stdout: (line) => console.log(line), stderr: (line) => console.error(line) });
  timings.boot = (performance.now() - start) / 1000;

  start = performance.now();
  const wheelDir = required("PYODIDE_WHEELS");
  const wheels = readdirSync(wheelDir).filter((name) => name.endsWith(".whl"));
  await pyodide.loadPackage(wheels.map((name) => join(wheelDir, name)), { messageCallback: () => {} });
  timings.install = (performance.now() - start) / 1000;

  mount(pyodide, join(ROOT, "src"), "/src");
  mount(pyodide, required("WORKERS_SDK"), "/sdk/workers");
  mount(pyodide, HERE, "/harness");
  pyodide.runPython("import sys; sys.path[:0] = ['/src', '/sdk', '/harness']");

  // workerd's internal modules, which the SDK imports: the only stubs. waitUntil keeps what Python
  // hands it: a Python awaitable arrives as a borrowed proxy, destroyed when the call returns, so it
  // is copied before then (as workerd's own patched waitUntil does) and released once settled.
  const background = [];
  const waitUntil = (value) => {
    const owned = typeof value?.copy === "function" ? value.copy() : value;
    background.push((async () => {
      try {
        return await owned;
      } finally {
        owned?.destroy?.();
      }
    })());
  };
  pyodide.registerJsModule("_pyodide_entrypoint_helper", {
    patchWaitUntil() {},
    cloudflareWorkersModule: { waitUntil, env: undefined },
  });
  pyodide.registerJsModule("_cloudflare_compat_flags", new Proxy({}, { get: () => false }));

  start = performance.now();
  const snapshot = pyodide.pyimport("snapshot").import_entry().toJs({ dict_converter: Object.fromEntries });
  timings.import_entry = (performance.now() - start) / 1000;
  const entry = pyodide.pyimport("entry");
  return { pyodide, entry, snapshot, timings, background, waitUntil };
}

// The env bindings and vars the Worker gets (wrangler.toml declares the same names).
export function makeEnv(simulatorUrl, vars = {}) {
  return {
    AI: new SimulatedAI(simulatorUrl),
    DB: new SqliteD1(join(ROOT, "migrations")),
    BUCKET: new MemoryR2(),
    JOBS: new MemoryQueue(),
    VECTORS: new MemoryVectorize(),
    ACCESS_TOKEN: "sk-a,sk-b",
    ADMIN_TOKENS: "sk-admin",
    AUTH_DISABLED: "true", // ignored: only the local server may turn auth off
    MODEL_ALIASES: { "house-model": "@cf/meta/llama-3.1-8b-instruct" }, // a [vars] table arrives as an object
    MAX_FILE_BYTES: 64 * 1024 * 1024, // a [vars] number arrives as a number
    ...vars,
  };
}

// One Worker instance, as workerd makes it: `new Default(ctx, env)`, then `fetch(request)` per request.
export function makeWorker(world, env) {
  const ctx = { waitUntil: world.waitUntil, passThroughOnException() {} };
  const worker = world.entry.Default(ctx, env);
  return {
    env,
    async fetch(request) {
      return await worker.fetch(request);
    },
    async scheduled(controller = { cron: "0 * * * *", scheduledTime: Date.now() }) {
      await worker.scheduled(controller, env, ctx);
    },
    // A Queue consumer's delivery: a MessageBatch (env.JOBS.batch() makes one of what was sent).
    async queue(batch) {
      await worker.queue(batch, env, ctx);
    },
    // What workerd waits for after the response (ctx.waitUntil): the SDK's ASGI shutdown, streams' ends.
    async settle() {
      while (world.background.length) await world.background.shift();
    },
  };
}
