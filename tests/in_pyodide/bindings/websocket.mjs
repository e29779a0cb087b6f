// workerd's WebSocket API, which Node lacks: `new WebSocketPair()` (two connected ends, `0` the
// client's, `1` the server's) and a Response that may be a 101 carrying `webSocket`. As in workerd,
// an end delivers nothing until `accept()` (what arrives before is queued), events are dispatched as
// later tasks, `send` on a closed end throws, and `close(code, reason)` reaches the peer's
// `onclose`/"close" listeners as {code, reason, wasClean}. Only what the SDK's bridge
// (workers/asgi.py process_websocket) and a test's client use is here.

class PairedSocket {
  constructor() {
    this.peer = null;
    this.readyState = 1; // OPEN
    this.binaryType = "blob";
    this.onopen = null;
    this.onmessage = null;
    this.onclose = null;
    this.onerror = null;
    this.accepted = false;
    this.pending = [];
    this.listeners = { message: [], close: [] };
  }

  accept() {
    if (this.accepted) return;
    this.accepted = true;
    for (const event of this.pending.splice(0)) this.dispatch(event);
  }

  addEventListener(type, listener) {
    (this.listeners[type] ??= []).push(listener);
  }

  send(data) {
    if (!this.accepted) throw new TypeError("You must call accept() on this WebSocket before sending messages.");
    if (this.readyState !== 1) throw new TypeError("Can't call WebSocket send() after close().");
    this.peer.deliver({ type: "message", data: typeof data === "string" ? data : new Uint8Array(data).slice().buffer });
  }

  close(code = 1000, reason = "") {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.peer.deliver({ type: "close", code, reason, wasClean: true });
  }

  deliver(event) {
    if (!this.accepted) this.pending.push(event);
    else this.dispatch(event);
  }

  dispatch(event) {
    setTimeout(() => {
      if (event.type === "close") this.readyState = 3;
      const handler = this[`on${event.type}`];
      if (typeof handler === "function") handler(event);
      for (const listener of this.listeners[event.type] ?? []) listener(event);
    }, 0);
  }
}

export class WebSocketPair {
  constructor() {
    const client = new PairedSocket();
    const server = new PairedSocket();
    client.peer = server;
    server.peer = client;
    this[0] = client;
    this[1] = server;
  }
}

// Node's Response refuses 101; workerd's takes it with the client end of a pair.
export function workersResponse(NodeResponse) {
  return class Response extends NodeResponse {
    constructor(body, init) {
      if (init?.status !== 101) {
        super(body, init);
        return;
      }
      super(null, { ...init, status: 200 });
      Object.defineProperty(this, "status", { value: 101 });
      this.webSocket = init.webSocket;
    }
  };
}
