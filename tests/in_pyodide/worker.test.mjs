// The Worker inside real Pyodide: each scenario sends a real JS Request to entry.Default.fetch, which
// answers through the SDK's workers.asgi bridge, the app and adapters/workers.py, over the JS
// stand-ins of env.AI (the simulator on loopback), env.DB (node:sqlite) and env.BUCKET (memory).
// Run by tests/in_pyodide/run (see docs/pyodide.md); SIMULATOR_URL names the simulator.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";

import { boot, makeEnv, makeWorker } from "./world.mjs";

const BASE = "https://worker.test";
const KEY = "sk-a";
const LOCAL_ONLY = [
  "uvicorn", "uvloop", "httptools", "aiohttp", "yarl", "multidict", "aiohappyeyeballs", "httpx", "numpy",
  "sqlite3", "_sqlite3", "socketserver", "http.server", "multiprocessing",
  "openai_workers_ai.cli", "openai_workers_ai.adapters.local", "openai_workers_ai.simulator",
  "openai_workers_ai.adapters.local_vectors", "openai_workers_ai.processes", "openai_workers_ai.server_protocol",
  "openai_workers_ai.adapters.local_jobs",
];

let world;
let worker;
const figures = {};

// workerd's requests carry the Host header a client sent; Node's Request adds none by itself.
function request(method, path, { key = KEY, json, body, headers = {} } = {}) {
  const auth = key ? { authorization: `Bearer ${key}` } : {};
  const init = { method, headers: { host: new URL(BASE).host, ...auth, ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["content-type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  return new Request(BASE + path, init);
}

async function call(method, path, options) {
  const response = await worker.fetch(request(method, path, options));
  assert.ok(response instanceof Response, "the Worker answers a JS Response");
  return response;
}

async function json(method, path, options, status = 200) {
  const response = await call(method, path, options);
  const text = await response.text();
  await worker.settle();
  assert.equal(response.status, status, text);
  return JSON.parse(text);
}

// Reads a streamed JS body chunk by chunk, as a client would; the chunks as text.
async function chunks(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const out = [];
  for (let got = await reader.read(); !got.done; got = await reader.read()) {
    assert.ok(got.value instanceof Uint8Array, "stream chunks are bytes");
    out.push(decoder.decode(got.value, { stream: true }));
  }
  await worker.settle();
  return out;
}

function sseEvents(text) {
  return text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
}

function makeWav(seconds = 1, rate = 16000) {
  const samples = seconds * rate;
  const wav = new DataView(new ArrayBuffer(44 + samples * 2));
  const ascii = (at, s) => [...s].forEach((c, i) => wav.setUint8(at + i, c.charCodeAt(0)));
  ascii(0, "RIFF"); wav.setUint32(4, 36 + samples * 2, true); ascii(8, "WAVE");
  ascii(12, "fmt "); wav.setUint32(16, 16, true); wav.setUint16(20, 1, true); wav.setUint16(22, 1, true);
  wav.setUint32(24, rate, true); wav.setUint32(28, rate * 2, true); wav.setUint16(32, 2, true); wav.setUint16(34, 16, true);
  ascii(36, "data"); wav.setUint32(40, samples * 2, true);
  for (let i = 0; i < samples; i++) wav.setInt16(44 + i * 2, Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), true);
  return new Uint8Array(wav.buffer);
}

const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];

before(async () => {
  world = await boot();
  Object.assign(figures, world.timings);
  worker = makeWorker(world, makeEnv(process.env.SIMULATOR_URL));
});

after(() => {
  if (process.env.FIGURES_OUT) writeFileSync(process.env.FIGURES_OUT, JSON.stringify(figures));
});

describe("cold start", () => {
  test("entry imports the whole app at the top level, with entropy and the clock blocked, loading nothing local-only", () => {
    assert.deepEqual(world.snapshot.entropy_attempts, []);
    assert.ok(world.snapshot.loaded.includes("entry") && world.snapshot.loaded.includes("workers"));
    // The whole app is in the snapshot: the factory, every door, the pipeline, the SDK's bridge.
    const inSnapshot = ["openai_workers_ai.app", "openai_workers_ai.routes.chat_completions",
      "openai_workers_ai.routes.files", "openai_workers_ai.routes.ollama.chat", "openai_workers_ai.workers_ai.pipeline",
      "openai_workers_ai.jobs", "openai_workers_ai.catalog.models", "workers.asgi"];
    assert.deepEqual(inSnapshot.filter((m) => !world.snapshot.loaded.includes(m)), []);
    assert.deepEqual(world.snapshot.loaded.filter((m) => LOCAL_ONLY.includes(m)), []);
  });

  test("the first request builds the app (figures: per-isolate build, then per request)", async () => {
    // What entry's top level did not import, the first request imports (measured apart).
    figures.import_app = world.pyodide.pyimport("measure").import_app();
    const body = { model: "@cf/meta/llama-3.1-8b-instruct", messages: [{ role: "user", content: "echo: warm" }] };
    let start = performance.now();
    const first = await json("POST", "/v1/chat/completions", { json: body });
    figures.shell_first_request = (performance.now() - start) / 1000;
    assert.equal(first.choices[0].message.content, "warm");
    const times = [];
    for (let i = 0; i < 30; i++) {
      start = performance.now();
      await json("POST", "/v1/chat/completions", { json: body });
      times.push((performance.now() - start) / 1000);
    }
    figures.shell_request = median(times);
    figures.binding_call = median(worker.env.AI.calls.slice(-times.length).map((c) => c.seconds));
  });

});

describe("OpenAI API", () => {
  test("auth: no key and a wrong key are 401 in OpenAI's format", async () => {
    for (const key of [null, "sk-wrong"]) {
      const body = await json("GET", "/v1/models", { key }, 401);
      assert.equal(body.error.code, "invalid_api_key");
      assert.equal(body.error.type, "invalid_request_error");
    }
  });

  test("models: the live catalog read through env.AI.models()", async () => {
    const body = await json("GET", "/v1/models");
    assert.equal(body.object, "list");
    assert.ok(body.data.length > 50 && body.data.every((m) => m.object === "model" && typeof m.id === "string"));
    assert.ok(body.data.some((m) => m.id === "@cf/meta/llama-3.1-8b-instruct"));
  });

  test("chat: plain", async () => {
    const body = await json("POST", "/v1/chat/completions", {
      json: { model: "house-model", messages: [{ role: "user", content: "echo: hello there" }] },
    });
    assert.equal(body.object, "chat.completion");
    assert.equal(body.model, "@cf/meta/llama-3.1-8b-instruct", "MODEL_ALIASES read from env");
    assert.equal(body.choices[0].message.content, "hello there");
    assert.equal(body.choices[0].finish_reason, "stop");
    assert.ok(body.usage.total_tokens > 0);
  });

  test("chat: streamed, read chunk by chunk from the JS body", async () => {
    const response = await call("POST", "/v1/chat/completions", {
      json: { model: "@cf/meta/llama-3.1-8b-instruct", stream: true,
              messages: [{ role: "user", content: "echo: one two three four five six" }] },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type"), /^text\/event-stream/);
    assert.ok(response.body instanceof ReadableStream);
    const parts = await chunks(response);
    assert.ok(parts.length > 2, `several chunks, got ${parts.length}`);
    const events = sseEvents(parts.join(""));
    assert.equal(events.at(-1), "[DONE]");
    const objects = events.slice(0, -1).map((e) => JSON.parse(e));
    assert.ok(objects.every((o) => o.object === "chat.completion.chunk"));
    assert.equal(objects.map((o) => o.choices[0]?.delta?.content ?? "").join(""), "one two three four five six");
    assert.equal(objects.at(-1).choices[0].finish_reason, "stop");
  });

  test("chat: tools, buffered and streamed", async () => {
    const tools = [{ type: "function", function: { name: "get_weather", parameters: {
      type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }];
    const messages = [{ role: "user", content: 'call:get_weather {"city": "Zürich"}' }];
    for (const model of ["@cf/qwen/qwen3-30b-a3b-fp8", "@cf/zai-org/glm-4.7-flash"]) {
      const body = await json("POST", "/v1/chat/completions", { json: { model, messages, tools } });
      const [toolCall] = body.choices[0].message.tool_calls;
      assert.equal(body.choices[0].finish_reason, "tool_calls", model);
      assert.equal(toolCall.function.name, "get_weather");
      assert.deepEqual(JSON.parse(toolCall.function.arguments), { city: "Zürich" });
    }
    const response = await call("POST", "/v1/chat/completions", {
      json: { model: "@cf/zai-org/glm-4.7-flash", messages, tools, stream: true },
    });
    const objects = sseEvents((await chunks(response)).join("")).slice(0, -1).map((e) => JSON.parse(e));
    const args = objects.flatMap((o) => o.choices[0]?.delta?.tool_calls ?? []).map((c) => c.function?.arguments ?? "");
    assert.deepEqual(JSON.parse(args.join("")), { city: "Zürich" });
    assert.equal(objects.findLast((o) => o.choices[0]?.finish_reason).choices[0].finish_reason, "tool_calls");
  });

  test("completions", async () => {
    const body = await json("POST", "/v1/completions", {
      json: { model: "@cf/meta/llama-3.1-8b-instruct", prompt: "echo: once upon", max_tokens: 16 },
    });
    assert.equal(body.object, "text_completion");
    assert.equal(typeof body.choices[0].text, "string");
    assert.ok(body.choices[0].text.length > 0 && body.usage.completion_tokens > 0);
  });

  test("embeddings", async () => {
    const body = await json("POST", "/v1/embeddings", { json: { model: "text-embedding-3-small", input: ["a", "b c"] } });
    assert.equal(body.object, "list");
    assert.equal(body.data.length, 2);
    assert.ok(body.data.every((d, i) => d.object === "embedding" && d.index === i && d.embedding.length === 768));
    assert.ok(body.data[0].embedding.every((x) => typeof x === "number"));
  });

  test("audio: a transcription (multipart upload, the audio handed to the binding)", async () => {
    const form = new FormData();
    form.append("model", "whisper-1");
    form.append("file", new Blob([makeWav(2)], { type: "audio/wav" }), "speech.wav");
    const body = await json("POST", "/v1/audio/transcriptions", { body: form });
    assert.equal(typeof body.text, "string");
    assert.ok(body.text.length > 0);
    const { model, inputs } = worker.env.AI.calls.at(-1);
    assert.equal(model, "@cf/openai/whisper-large-v3-turbo");
    assert.equal(typeof inputs.audio, "string", "whisper-large-v3-turbo takes base64 text");

    const nova = new FormData();
    nova.append("model", "@cf/deepgram/nova-3");
    nova.append("file", new Blob([makeWav(2)], { type: "audio/wav" }), "speech.wav");
    const transcribed = await json("POST", "/v1/audio/transcriptions", { body: nova });
    assert.ok(transcribed.text.length > 0);
    const audio = worker.env.AI.calls.at(-1).inputs.audio;
    assert.ok(audio.body instanceof ReadableStream, "Nova-3 takes its audio as a stream");
    assert.equal(audio.contentType, "audio/wav");
  });

  test("images: a generation answered with a URL, then fetched through the Worker", async () => {
    const body = await json("POST", "/v1/images/generations", {
      json: { model: "dall-e-2", prompt: "a lighthouse", size: "256x256", response_format: "url" },
    });
    const url = new URL(body.data[0].url);
    assert.equal(url.origin, BASE);
    const image = await call("GET", url.pathname, { key: null });
    assert.equal(image.status, 200);
    assert.match(image.headers.get("content-type"), /^image\//);
    const bytes = new Uint8Array(await image.arrayBuffer());
    await worker.settle();
    assert.ok(bytes.length > 8);
    assert.deepEqual([...bytes.slice(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    // R2 answers null for a missing key: a 404, not a crash.
    const other = url.pathname.replace(/\/([^/])([^/]*)$/, (_, c, rest) => `/${c === "A" ? "B" : "A"}${rest}`);
    const missing = await call("GET", other, { key: null });
    await missing.arrayBuffer();
    await worker.settle();
    assert.equal(missing.status, 404);
  });

  test("background jobs: an image's expiry job goes to env.JOBS, and the queue handler runs it", async () => {
    const jobs = worker.env.JOBS;
    jobs.sent.length = 0;
    const body = await json("POST", "/v1/images/generations", {
      json: { model: "dall-e-2", prompt: "a harbour", size: "256x256", response_format: "url" },
    });
    const path = new URL(body.data[0].url).pathname;
    const name = path.split("/").pop();
    assert.equal(jobs.sent.length, 1);
    assert.deepEqual(jobs.sent[0].body, { kind: "images.expire", id: name });  // no owner: left out
    assert.deepEqual(jobs.sent[0].options, { delaySeconds: 3600 });
    // Delivered early (a redelivery, say): acknowledged, the image kept, the job sent again for later.
    let batch = jobs.batch();
    await worker.queue(batch);
    assert.deepEqual(batch.messages.map((m) => m.fate), ["ack"]);
    assert.equal(jobs.sent.length, 1);
    assert.ok(jobs.sent[0].options.delaySeconds > 3500);
    const kept = await call("GET", path, { key: null });
    await kept.arrayBuffer();
    await worker.settle();
    assert.equal(kept.status, 200);
    // Once expired (the object's expiry moved into the past), the same job deletes it; again, it is harmless.
    worker.env.BUCKET.objects.get(`images/${name}`).customMetadata.expires_at = "1";
    const job = jobs.sent[0].body;
    for (let round = 0; round < 2; round++) {
      if (round > 0) jobs.sent.push({ body: job, options: {} });  // the same message, delivered again
      batch = jobs.batch();
      await worker.queue(batch);
      assert.deepEqual(batch.messages.map((m) => m.fate), ["ack"]);
    }
    assert.equal(worker.env.BUCKET.objects.has(`images/${name}`), false);
    assert.equal(jobs.sent.length, 0);
    // A message that is no job is dropped (acknowledged), not retried forever.
    jobs.sent.push({ body: "not a job", options: {} });
    batch = jobs.batch();
    await worker.queue(batch);
    assert.deepEqual(batch.messages.map((m) => m.fate), ["ack"]);
  });

  test("webhooks: a background response's end is POSTed through fetch, signed; a failed delivery is sent again, delayed", async () => {
    const secret = Buffer.from("a test secret of thirty-two byte").toString("base64");
    world.pyodide.runPython("import entry; entry._isolate.clear()");  // a new isolate: its app built from its env
    const hooked = makeWorker(world, makeEnv(process.env.SIMULATOR_URL, {
      WEBHOOK_URL: "https://hooks.example.com/openai", WEBHOOK_SECRET: `whsec_${secret}`,
    }));
    const posts = [];
    const fetch = globalThis.fetch;
    globalThis.fetch = async (url, init) => {  // the receiver: answers the first delivery 500, then 200
      if (!String(url).startsWith("https://hooks.example.com/")) return fetch(url, init);
      posts.push({ url: String(url), method: init.method, redirect: init.redirect, headers: new Headers(init.headers),
        body: new TextDecoder().decode(init.body) });
      return new Response("", { status: posts.length === 1 ? 500 : 200 });
    };
    try {
      const created = await hooked.fetch(request("POST", "/v1/responses", {
        json: { model: "@cf/meta/llama-3.1-8b-instruct", input: "echo: hooked", background: true } }));
      const text = await created.text();
      await hooked.settle();
      assert.equal(created.status, 200, text);
      const response = JSON.parse(text);
      const jobs = hooked.env.JOBS;
      for (const delivery of [0, 1, 2]) {  // the response's job, then the event's two deliveries
        const batch = jobs.batch();
        assert.equal(batch.messages.length, 1, `delivery ${delivery}`);
        await hooked.queue(batch);
        assert.deepEqual(batch.messages.map((m) => m.fate), ["ack"]);
        if (delivery === 1) assert.deepEqual(jobs.sent.map((m) => m.options), [{ delaySeconds: 5 }]);  // answered 500
      }
      assert.equal(jobs.sent.length, 0);
      assert.equal(posts.length, 2);
      for (const post of posts) {
        assert.equal(post.url, "https://hooks.example.com/openai");
        assert.equal(post.method, "POST");
        assert.equal(post.redirect, "manual");
        const event = JSON.parse(post.body);
        assert.equal(event.type, "response.completed");
        assert.equal(event.data.id, response.id);
        const [id, timestamp] = [post.headers.get("webhook-id"), post.headers.get("webhook-timestamp")];
        const expected = createHmac("sha256", Buffer.from(secret, "base64")).update(`${id}.${timestamp}.${post.body}`)
          .digest("base64");
        assert.equal(post.headers.get("webhook-signature"), `v1,${expected}`);
      }
      assert.equal(posts[1].body, posts[0].body);  // the same event, delivered again
      assert.equal(posts[1].headers.get("webhook-id"), posts[0].headers.get("webhook-id"));
    } finally {
      globalThis.fetch = fetch;
      world.pyodide.runPython("import entry; entry._isolate.clear()");  // the other scenarios' isolate again
    }
  });

  test("assistants: a run goes to env.JOBS and the queue handler executes it, once; a streamed tool call", async () => {
    const jobs = worker.env.JOBS;
    jobs.sent.length = 0;
    const weather = { type: "function", function: { name: "get_weather", parameters: {
      type: "object", properties: { city: { type: "string" } } } } };
    const assistant = await json("POST", "/v1/assistants", {
      json: { model: "@cf/meta/llama-4-scout-17b-16e-instruct", instructions: "Be brief.", tools: [weather] },
    });
    const thread = await json("POST", "/v1/threads", {
      json: { messages: [{ role: "user", content: "echo: from Pyodide" }] },
    });
    const base = `/v1/threads/${thread.id}`;
    const run = await json("POST", `${base}/runs`, { json: { assistant_id: assistant.id } });
    assert.equal(run.status, "queued");
    assert.equal(jobs.sent.length, 1);
    assert.deepEqual({ kind: jobs.sent[0].body.kind, id: jobs.sent[0].body.id }, { kind: "runs.execute", id: run.id });
    // One active run per thread: the conditional INSERT changes no row (D1's meta.changes), a 400.
    const busy = await json("POST", `${base}/runs`, { json: { assistant_id: assistant.id } }, 400);
    assert.match(busy.error.message, /already has an active run/);
    // Delivered twice in one batch (its jobs run concurrently): both acknowledged, one generation.
    jobs.sent.push({ body: jobs.sent[0].body, options: {} });
    const batch = jobs.batch();
    await worker.queue(batch);
    assert.deepEqual(batch.messages.map((m) => m.fate), ["ack", "ack"]);
    const done = await json("GET", `${base}/runs/${run.id}`);
    assert.equal(done.status, "completed");
    const messages = await json("GET", `${base}/messages`);
    assert.deepEqual(messages.data.map((m) => m.role), ["assistant", "user"]);
    assert.equal(messages.data[0].content[0].text.value, "from Pyodide");
    // Streamed: a tool call through requires_action, read chunk by chunk from the JS body.
    await json("POST", `${base}/messages`, { json: { role: "user", content: 'call:get_weather {"city": "Oslo"}' } });
    const streamed = await call("POST", `${base}/runs`, { json: { assistant_id: assistant.id, stream: true } });
    assert.equal(streamed.status, 200);
    const text = (await chunks(streamed)).join("");
    const names = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    assert.deepEqual(names.slice(0, 3), ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]);
    assert.deepEqual(names.slice(-2), ["thread.run.requires_action", "done"]);
    const waiting = JSON.parse(text.split("event: thread.run.requires_action\ndata: ")[1].split("\n")[0]);
    assert.equal(waiting.required_action.submit_tool_outputs.tool_calls[0].function.arguments, '{"city": "Oslo"}');
    // Deleting the thread takes its messages, runs and steps (one D1 batch).
    assert.equal((await json("DELETE", base)).deleted, true);
    assert.equal((await json("GET", `${base}/runs/${run.id}`, {}, 404)).error.message, `No thread found with id '${thread.id}'.`);
  });

  test("responses: stored, streamed as SSE, continued; a background one through env.JOBS, generated once", async () => {
    const model = "@cf/meta/llama-3.1-8b-instruct";
    const first = await json("POST", "/v1/responses", { json: { model, input: "echo: stored in D1" } });
    assert.equal(first.status, "completed");
    assert.equal(first.output[0].content[0].text, "stored in D1");
    const streamed = await call("POST", "/v1/responses", {
      json: { model, input: "echo: streamed", stream: true, previous_response_id: first.id },
    });
    const text = (await chunks(streamed)).join("");
    const names = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    assert.deepEqual(names.slice(0, 2), ["response.created", "response.in_progress"]);
    assert.equal(names.at(-1), "response.completed");
    const done = JSON.parse(text.split("event: response.completed\ndata: ")[1].split("\n")[0]);
    assert.equal(done.response.previous_response_id, first.id);
    const items = await json("GET", `/v1/responses/${done.response.id}/input_items`);
    assert.deepEqual(items.data.map((i) => i.content[0].text), ["echo: streamed"]);
    // Background: stored queued, its job sent to env.JOBS; delivered twice, generated once.
    const jobs = worker.env.JOBS;
    jobs.sent.length = 0;
    const queued = await json("POST", "/v1/responses", { json: { model, input: "echo: later", background: true } });
    assert.equal(queued.status, "queued");
    assert.deepEqual(jobs.sent.map((m) => [m.body.kind, m.body.id]), [["responses.run", queued.id]]);
    jobs.sent.push({ body: jobs.sent[0].body, options: {} });
    const batch = jobs.batch();
    await worker.queue(batch);
    assert.deepEqual(batch.messages.map((m) => m.fate), ["ack", "ack"]);
    const later = await json("GET", `/v1/responses/${queued.id}`);
    assert.equal(later.status, "completed");
    assert.deepEqual(later.output.map((i) => i.content[0].text), ["later"]);
  });

  test("responses: WebSocket mode through the SDK bridge's WebSocket side (workerd's WebSocketPair stand-in)", async () => {
    const model = "@cf/meta/llama-3.1-8b-instruct";
    const open = async (key) => {
      const response = await worker.fetch(request("GET", "/v1/responses", { key, headers: {
        upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" } }));
      assert.equal(response.status, 101, "an upgrade is answered by the bridge's WebSocket side");
      const socket = response.webSocket;
      const got = { events: [], closed: null };
      socket.addEventListener("message", (e) => got.events.push(JSON.parse(e.data)));
      socket.addEventListener("close", (e) => { got.closed = e; });
      socket.accept();
      return { socket, got };
    };
    const until = async (what, predicate) => {
      for (let i = 0; i < 2000 && !predicate(); i++) await new Promise((r) => setTimeout(r, 5));
      assert.ok(predicate(), `timed out waiting for ${what}`);
    };
    const { socket, got } = await open(KEY);
    const ended = () => got.events.filter((e) => e.type === "response.completed");
    socket.send(JSON.stringify({ type: "response.create", stream_id: "lane-1", model, input: "echo: over a socket" }));
    await until("the first response", () => ended().length === 1);
    assert.deepEqual(got.events.slice(0, 2).map((e) => e.type), ["response.created", "response.in_progress"]);
    assert.deepEqual(got.events.map((e) => e.sequence_number), got.events.map((_, i) => i));
    assert.ok(got.events.every((e) => e.stream_id === "lane-1"));
    const first = ended()[0].response;
    assert.equal(first.output[0].content[0].text, "over a socket");
    // A continuation reads the socket's memory; a bad message is an error event, the socket stays open.
    socket.send("not json");
    socket.send(JSON.stringify({ type: "response.create", model, input: "echo: two", previous_response_id: first.id,
      store: false }));
    await until("the continuation", () => ended().length === 2);
    assert.equal(got.events.find((e) => e.type === "error").error.message, "Messages must be JSON objects.");
    assert.equal(ended()[1].response.previous_response_id, first.id);
    assert.equal(ended()[1].response.output[0].content[0].text, "two");
    assert.equal(got.closed, null);
    socket.close(1000, "bye");
    await worker.settle(); // the app's side ends (the bridge's waitUntil settles)
    const stored = await json("GET", `/v1/responses/${first.id}`);
    assert.deepEqual(stored.output, first.output);
    // A wrong key: the bridge accepted the pair, the app closes it with 1008 before any message.
    const refused = await open("sk-wrong");
    await until("the refusal", () => refused.got.closed !== null);
    assert.equal(refused.got.closed.code, 1008);
    await worker.settle();
  });

  test("files: upload, list, retrieve, content, delete; then the cron cleans up", async () => {
    const payload = '{"a": 1}\n'.repeat(50);
    const upload = () => {
      const form = new FormData();
      form.append("purpose", "batch");
      form.append("file", new Blob([payload], { type: "application/jsonl" }), "in.jsonl");
      return json("POST", "/v1/files", { body: form });
    };
    const created = await upload();
    assert.equal(created.object, "file");
    assert.equal(created.bytes, payload.length);
    assert.equal(created.expires_at, created.created_at + 30 * 86400);
    const listed = await json("GET", "/v1/files?limit=10");
    assert.deepEqual(listed.data.map((f) => f.id), [created.id]);
    assert.deepEqual(await json("GET", `/v1/files/${created.id}`), created);
    assert.equal((await json("GET", `/v1/files/${created.id}`, { key: "sk-b" }, 404)).error.param, "id");
    const content = await call("GET", `/v1/files/${created.id}/content`);
    assert.equal(content.status, 200);
    assert.equal((await chunks(content)).join(""), payload);
    const [row] = worker.env.DB.query("SELECT object_key, status FROM files");
    assert.equal(row.status, "processed");
    const stored = () => [...worker.env.BUCKET.objects.keys()].filter((k) => k.startsWith("files/"));
    assert.deepEqual(stored(), [row.object_key]);
    const deleted = await json("DELETE", `/v1/files/${created.id}`);
    assert.deepEqual(deleted, { id: created.id, object: "file", deleted: true });
    assert.deepEqual(stored(), []);

    const expired = await upload();
    worker.env.DB.query("UPDATE files SET expires_at = 1 WHERE id = ?", expired.id);
    await worker.scheduled();
    await worker.settle();
    assert.deepEqual(worker.env.DB.query("SELECT id FROM files"), []);
    assert.deepEqual(stored(), []);
  });

  test("files: a large upload streams from the request body into an R2 multipart upload", async () => {
    const size = 8 * 1024 * 1024 + 1000; // one full 8 MiB part, then the rest
    const payload = new Uint8Array(size).map((_, i) => 97 + (i % 26));
    const form = new FormData();
    form.append("purpose", "vision");
    form.append("file", new Blob([payload], { type: "text/plain" }), "big.txt");
    const created = await json("POST", "/v1/files", { body: form });
    assert.equal(created.bytes, size);
    const [upload] = worker.env.BUCKET.uploads;
    assert.ok(upload, "a multipart upload was used");
    assert.deepEqual([...upload.parts.values()].map((p) => p.length), [8 * 1024 * 1024, 1000]);
    const content = await call("GET", `/v1/files/${created.id}/content`);
    const got = new Uint8Array(await content.arrayBuffer());
    await worker.settle();
    assert.equal(got.length, size);
    assert.ok(got.every((b, i) => b === payload[i]));
    await json("DELETE", `/v1/files/${created.id}`);
  });

  test("vector stores: a PDF through env.AI.toMarkdown, ingested by the queue into env.VECTORS, searched, answered from by file_search, deleted", async () => {
    const jobs = worker.env.JOBS;
    const index = worker.env.VECTORS;
    jobs.sent.length = 0;
    const pdf = "%PDF-1.4\n1 0 obj << /Length 60 >>\nstream\nBT /F1 12 Tf 72 720 Td (Refunds take five working days.) Tj ET\nendstream\nendobj\n%%EOF\n";
    const upload = async (name, content, type) => {
      const form = new FormData();
      form.append("purpose", "assistants");
      form.append("file", new Blob([content], { type }), name);
      return (await json("POST", "/v1/files", { body: form })).id;
    };
    const ids = [await upload("refunds.pdf", pdf, "application/pdf"),
                 await upload("shipping.txt", "Parcels ship within two days by courier.", "text/plain")];
    const store = await json("POST", "/v1/vector_stores", { json: { name: "kb", file_ids: ids } });
    assert.equal(store.status, "in_progress");
    assert.deepEqual(jobs.sent.map((m) => m.body.kind), ["vector_stores.ingest_batch"]);
    const batch = jobs.batch();
    await worker.queue(batch);
    assert.deepEqual(batch.messages.map((m) => m.fate), ["ack"]);
    const done = await json("GET", `/v1/vector_stores/${store.id}`);
    assert.deepEqual(done.file_counts, { in_progress: 0, completed: 2, failed: 0, cancelled: 0, total: 2 });
    assert.equal(index.vectors.size, 2);
    assert.ok(worker.env.AI.calls.some((c) => c.toMarkdown?.includes("refunds.pdf")), "the PDF went through toMarkdown");
    const content = await json("GET", `/v1/vector_stores/${store.id}/files/${ids[0]}/content`);
    assert.equal(content.data[0].text, "Refunds take five working days.");
    const found = await json("POST", `/v1/vector_stores/${store.id}/search`, { json: { query: "how long do refunds take?" } });
    assert.equal(found.data[0].filename, "refunds.pdf");
    assert.ok(found.data[0].score > found.data[1].score);
    const query = index.calls.filter((c) => c.query).at(-1).query;
    assert.deepEqual(query.filter, { vector_store_id: { $in: [store.id] } });
    const answered = await json("POST", "/v1/responses", { json: {
      model: "@cf/meta/llama-4-scout-17b-16e-instruct", input: "How long do refunds take?",
      tools: [{ type: "file_search", vector_store_ids: [store.id] }], include: ["file_search_call.results"] } });
    assert.deepEqual(answered.output.map((i) => i.type), ["file_search_call", "message"]);
    assert.equal(answered.output[0].results[0].filename, "refunds.pdf");
    assert.equal(answered.output[1].content[0].text, "Refunds take five working days.");
    assert.deepEqual(answered.output[1].content[0].annotations, [
      { type: "file_citation", file_id: ids[0], filename: "refunds.pdf", index: 31 }]);
    await json("DELETE", `/v1/vector_stores/${store.id}`);
    assert.equal(index.vectors.size, 0);
    assert.equal(worker.env.DB.query("SELECT COUNT(*) AS n FROM vector_store_chunks")[0].n, 0);
  });

  test("batches: a file of requests answered by the queue through the app's own routes, its slices read by range", async () => {
    const jobs = worker.env.JOBS;
    jobs.sent.length = 0;
    const model = "@cf/meta/llama-3.1-8b-instruct";
    const line = (id, content) => JSON.stringify({ custom_id: id, method: "POST", url: "/v1/chat/completions",
      body: { model, messages: [{ role: "user", content }] } });
    const form = new FormData();
    form.append("purpose", "batch");
    form.append("file", new Blob([[line("a", "echo: one"), line("b", "fail:400"), line("c", "echo: three")].join("\n") + "\n"]),
                "requests.jsonl");
    const file = await json("POST", "/v1/files", { body: form });
    const created = await json("POST", "/v1/batches", { json: {
      input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" } });
    assert.equal(created.status, "validating");
    for (let run = 0; run < 10 && jobs.sent.length; run++) {  // each run queues the next: validate, a slice, finalize
      const batch = jobs.batch();
      await worker.queue(batch);
      assert.deepEqual(batch.messages.map((m) => m.fate), ["ack"]);
    }
    assert.equal(jobs.sent.length, 0);
    const done = await json("GET", `/v1/batches/${created.id}`);
    assert.equal(done.status, "completed");
    assert.deepEqual(done.request_counts, { total: 3, completed: 2, failed: 1 });
    const text = async (id) => { const r = await call("GET", `/v1/files/${id}/content`); const t = await r.text(); await worker.settle(); return t; };
    const output = (await text(done.output_file_id)).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(output.map((o) => [o.custom_id, o.response.body.choices[0].message.content]), [["a", "one"], ["c", "three"]]);
    const errors = (await text(done.error_file_id)).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(errors.map((e) => [e.custom_id, e.response.status_code]), [["b", 400]]);
    const ranged = worker.env.BUCKET.ranges.filter(([key]) => key.includes(file.id));
    assert.deepEqual(ranged.map(([, range]) => range), [{ offset: 0, length: file.bytes }]);  // the one slice, by range
  });

  test("errors: a 400 in OpenAI's format, and a failed binding call mapped once", async () => {
    const bad = await json("POST", "/v1/chat/completions", { json: { model: "@cf/meta/llama-3.1-8b-instruct" } }, 400);
    assert.equal(bad.error.type, "invalid_request_error");
    assert.equal(bad.error.param, "messages");
    const busy = await json("POST", "/v1/chat/completions", {
      json: { model: "@cf/meta/llama-3.1-8b-instruct", messages: [{ role: "user", content: "fail:503" }] },
    }, 503);
    assert.equal(busy.error.code, "upstream_overloaded");
  });
});

describe("Ollama API", () => {
  test("chat: NDJSON streamed by default, read chunk by chunk", async () => {
    const response = await call("POST", "/api/chat", {
      json: { model: "llama3.1:8b", messages: [{ role: "user", content: "echo: one two three four" }] },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type"), /^application\/x-ndjson/);
    const lines = (await chunks(response)).join("").trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(lines.length > 2);
    assert.equal(lines.map((l) => l.message?.content ?? "").join(""), "one two three four");
    assert.equal(lines.at(-1).done, true);
    assert.ok(lines.slice(0, -1).every((l) => l.done === false));
  });

  test("generate, not streamed; a bad request in Ollama's format", async () => {
    const body = await json("POST", "/api/generate", { json: { model: "llama3.1:8b", prompt: "echo: hi", stream: false } });
    assert.equal(body.response, "hi");
    assert.equal(body.done, true);
    const bad = await json("POST", "/api/chat", { json: { model: "llama3.1:8b", messages: "not a list" } }, 400);
    assert.equal(typeof bad.error, "string");
  });
});

describe("the isolate afterwards", () => {
  test("nothing local-only was ever loaded, and no thread was started", () => {
    const loaded = world.pyodide.runPython("import sys; sorted(sys.modules)").toJs();
    assert.deepEqual(loaded.filter((m) => LOCAL_ONLY.includes(m)), []);
    assert.equal(world.pyodide.runPython("import threading; threading.active_count()"), 1);
  });
});

describe("figures", () => {
  test("the core measured alone (raw ASGI, the simulator in process), as under CPython", async () => {
    const measure = world.pyodide.pyimport("measure");
    const [app, built] = measure.build().toJs({ depth: 1 });
    figures.create_app = built;
    const measured = await measure.requests(app, 200);
    Object.assign(figures, measured.toJs({ dict_converter: Object.fromEntries }));
    measured.destroy();
    app.destroy();
  });
  test("a batch's input validated, as under CPython", async () => {
    figures.batch_validation = await world.pyodide.pyimport("measure").batch_validation();
  });

  test("a stored Response against a chat, through the shell (figures: the isolate's own time)", async () => {
    // bench/responses.py's ratio in the Worker's runtime: each request's time less what env.AI (the
    // simulator, over loopback) and env.DB (node:sqlite, in this thread) took, which in workerd is not the
    // isolate's. Last: its many requests make V8 optimize the shell's JS, and Node 22's V8 then crashed
    // deoptimizing in the WebSocket scenario.
    const text = "echo: The quick brown fox jumps over the lazy dog.";
    const system = "You are a helpful assistant.";
    const chat = { model: "@cf/meta/llama-3.1-8b-instruct", temperature: 0.7, max_tokens: 64,
      messages: [{ role: "system", content: system }, { role: "user", content: text }] };
    const response = { model: chat.model, temperature: 0.7, max_output_tokens: 64, instructions: system, input: text };
    const { AI, DB } = worker.env;
    const own = { chat: [], response: [] };
    const d1 = [];
    for (let round = 0; round < 45; round++) {
      for (const [name, path, body] of [["chat", "/v1/chat/completions", chat], ["response", "/v1/responses", response]]) {
        const [calls, dbSeconds, start] = [AI.calls.length, DB.seconds, performance.now()];
        const answer = await json("POST", path, { json: body });
        const wall = (performance.now() - start) / 1000;
        const model = AI.calls.slice(calls).reduce((sum, c) => sum + c.seconds, 0);
        const reply = name === "chat" ? answer.choices[0].message.content : answer.output[0].content[0].text;
        assert.equal(reply, "The quick brown fox jumps over the lazy dog.");
        if (round < 5) continue; // warm-up
        own[name].push(wall - model - (DB.seconds - dbSeconds));
        if (name === "response") d1.push(DB.seconds - dbSeconds);
      }
    }
    const stored = await json("GET", `/v1/responses/${(await json("POST", "/v1/responses", { json: response })).id}`);
    assert.equal(stored.status, "completed"); // it was stored: D1 wrote it
    figures.shell_chat_own = median(own.chat);
    figures.shell_response_own = median(own.response);
    figures.shell_response_d1 = median(d1);
  });
});
