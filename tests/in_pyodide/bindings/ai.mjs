// env.AI: the Workers AI binding as a thin shim over the project's simulator, served by
// `openai-workers-ai simulator` (the Workers AI REST API) on loopback. It answers as the binding
// does: a plain object for JSON results, a ReadableStream for streams (SSE bytes) and for binary
// outputs (images, audio), and a thrown Error("<code>: <message>") for a failed call.

const ACCOUNT = "simulated";

function aiError(code, message) {
  const error = new Error(`${code}: ${message}`);
  error.name = "InferenceUpstreamError";
  return error;
}

// Byte inputs (a Uint8Array) go over JSON as arrays of numbers, as the REST API takes them.
const bytesAsArrays = (_key, value) => (value instanceof Uint8Array ? Array.from(value) : value);

export class SimulatedAI {
  constructor(baseUrl) {
    this.baseUrl = baseUrl;
    this.calls = [];
  }

  async run(model, inputs, options) {
    const call = { model, inputs, options, seconds: 0 };
    this.calls.push(call);
    const start = performance.now();
    try {
      return await this.answer(model, inputs);
    } finally {
      call.seconds = (performance.now() - start) / 1000;
    }
  }

  async answer(model, inputs) {
    const url = `${this.baseUrl}/client/v4/accounts/${ACCOUNT}/ai/run/${model}`;
    let response;
    const audio = inputs?.audio;
    if (audio?.body instanceof ReadableStream) {
      // A binary model input (Nova-3's `audio: {body, contentType}`): raw bytes, the rest as query parameters.
      const rest = Object.entries(inputs).filter(([key]) => key !== "audio");
      const query = new URLSearchParams(rest.map(([key, value]) => [key, String(value)]));
      const body = await new Response(audio.body).arrayBuffer();
      response = await fetch(`${url}?${query}`, { method: "POST", headers: { "content-type": audio.contentType }, body });
    } else {
      const body = JSON.stringify(inputs, bytesAsArrays);
      response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
    }
    if ((response.headers.get("content-type") ?? "").startsWith("application/json")) {
      const envelope = await response.json();
      if (!envelope.success) {
        const [error] = envelope.errors;
        throw aiError(error.code, error.message);
      }
      return envelope.result;
    }
    if (!response.ok) throw aiError(response.status, await response.text());
    return response.body;
  }

  // env.AI.toMarkdown(documents): {name, blob} or a list of them → a ConversionResult or a list.
  async toMarkdown(documents) {
    const list = Array.isArray(documents) ? documents : [documents];
    this.calls.push({ toMarkdown: list.map((d) => d.name) });
    const form = new FormData();
    for (const { name, blob } of list) form.append("files", blob, name);
    const response = await fetch(`${this.baseUrl}/client/v4/accounts/${ACCOUNT}/ai/tomarkdown`, { method: "POST", body: form });
    const envelope = await response.json();
    if (!envelope.success) throw aiError(envelope.errors[0].code, envelope.errors[0].message);
    return Array.isArray(documents) ? envelope.result : envelope.result[0];
  }

  async models(params = {}) {
    this.calls.push({ models: params });
    const query = new URLSearchParams({ page: String(params.page ?? 1), per_page: String(params.per_page ?? 20) });
    const response = await fetch(`${this.baseUrl}/client/v4/accounts/${ACCOUNT}/ai/models/search?${query}`);
    const envelope = await response.json();
    if (!envelope.success) throw aiError(envelope.errors[0].code, envelope.errors[0].message);
    return envelope.result;
  }
}
