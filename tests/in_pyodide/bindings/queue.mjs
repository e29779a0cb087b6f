// env.JOBS: a Cloudflare Queue producer in memory. It records what the Worker sends (body and
// options, structured-cloned as a real Queue does) and hands it back as the MessageBatch a consumer
// receives: {queue, messages: [{id, timestamp, body, attempts, ack(), retry()}], ackAll(), retryAll()}.

export class MemoryQueue {
  constructor(name = "openai-workers-ai-jobs") {
    this.name = name;
    this.sent = [];
    this.serial = 0;
  }

  async send(body, options = {}) {
    this.sent.push({ body: structuredClone(body), options: structuredClone(options ?? {}) });
  }

  async sendBatch(messages) {
    for (const { body, ...options } of messages) await this.send(body, options);
  }

  // The messages sent so far, as one batch (taken off the queue); each records its fate.
  batch() {
    const taken = this.sent.splice(0);
    const messages = taken.map(({ body }) => {
      const message = {
        id: `msg-${++this.serial}`, timestamp: new Date(), body, attempts: 1, fate: undefined,
        ack() { message.fate = "ack"; },
        retry() { message.fate = "retry"; },
      };
      return message;
    });
    return {
      queue: this.name, messages,
      ackAll() { messages.forEach((m) => m.ack()); },
      retryAll() { messages.forEach((m) => m.retry()); },
    };
  }
}
