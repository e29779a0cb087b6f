// env.BUCKET: an R2 bucket in memory, speaking R2's API: put (bytes, strings or a stream), get (the
// body as a ReadableStream, in several chunks), head, delete (a key or keys), list (prefix, limit,
// cursor, `include`), and multipart uploads with R2's part rule (every part but the last the same
// size, at least 5 MiB).

const MIN_PART = 5 * 1024 * 1024;

async function bytesOf(value) {
  if (value === null || value === undefined) return new Uint8Array();
  if (typeof value === "string") return new TextEncoder().encode(value);
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  if (value instanceof ReadableStream) return new Uint8Array(await new Response(value).arrayBuffer());
  throw new TypeError(`R2 cannot store a ${value?.constructor?.name ?? typeof value}`);
}

function chunked(data) {
  // The first chunk short, so a reader that assumes one chunk fails.
  const cuts = [0, Math.min(3, data.length)];
  for (let at = cuts[1] + 65536; at < data.length; at += 65536) cuts.push(at);
  cuts.push(data.length);
  const pieces = cuts.slice(1).map((end, i) => data.slice(cuts[i], end)).filter((p) => p.length);
  return new ReadableStream({
    pull(controller) {
      if (pieces.length) controller.enqueue(pieces.shift());
      else controller.close();
    },
  });
}

class R2Object {
  constructor(key, data, options = {}) {
    this.key = key;
    this.size = data.length;
    this.etag = `etag-${key}-${data.length}`;
    this.httpEtag = `"${this.etag}"`;
    this.uploaded = new Date();
    this.httpMetadata = { ...(options.httpMetadata ?? {}) };
    this.customMetadata = { ...(options.customMetadata ?? {}) };
    Object.defineProperty(this, "data", { value: data, enumerable: false });
  }

  listed(include) {
    const copy = new R2Object(this.key, this.data);
    copy.uploaded = this.uploaded;
    copy.httpMetadata = include.includes("httpMetadata") ? this.httpMetadata : undefined;
    copy.customMetadata = include.includes("customMetadata") ? this.customMetadata : undefined;
    return copy;
  }
}

class R2ObjectBody extends R2Object {
  constructor(object, range) {
    super(object.key, object.data, object);
    this.uploaded = object.uploaded;
    // R2's {range: {offset, length}}: only those bytes in the body (fewer past the end); size stays the object's
    this.body = chunked(range ? object.data.subarray(range.offset, range.offset + range.length) : object.data);
  }
}

class R2MultipartUpload {
  constructor(bucket, key, options) {
    this.bucket = bucket;
    this.key = key;
    this.uploadId = `upload-${bucket.uploads.length + 1}`;
    this.options = options;
    this.parts = new Map();
  }

  async uploadPart(partNumber, value) {
    this.parts.set(partNumber, await bytesOf(value));
    return { partNumber, etag: `part-${partNumber}` };
  }

  async complete(uploadedParts) {
    const numbers = Array.from(uploadedParts, (part) => part.partNumber);
    const parts = numbers.map((n) => this.parts.get(n));
    if (parts.some((p) => p === undefined)) throw new Error("complete: unknown part (10025)");
    const sizes = parts.slice(0, -1).map((p) => p.length);
    if (sizes.some((size) => size < MIN_PART || size !== sizes[0])) {
      throw new Error("complete: All non-trailing parts must have the same length (10048)");
    }
    const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (data.set(p, at), at + p.length), 0);
    return this.bucket.store(this.key, data, this.options);
  }

  async abort() {
    this.aborted = true;
  }
}

export class MemoryR2 {
  constructor() {
    this.objects = new Map();
    this.uploads = [];
    this.ranges = [];  // [key, {offset, length}] of every ranged get
  }

  store(key, data, options) {
    const object = new R2Object(key, data, options ?? {});
    this.objects.set(key, object);
    return object;
  }

  async put(key, value, options) {
    return this.store(key, await bytesOf(value), options);
  }

  async get(key, options = {}) {
    const object = this.objects.get(key);
    if (options.range) this.ranges.push([key, { offset: options.range.offset, length: options.range.length }]);
    return object ? new R2ObjectBody(object, options.range) : null;
  }

  async head(key) {
    return this.objects.get(key) ?? null;
  }

  async delete(keys) {
    for (const key of typeof keys === "string" ? [keys] : Array.from(keys)) this.objects.delete(key);
  }

  async list(options = {}) {
    const prefix = options.prefix ?? "";
    const limit = Math.min(options.limit ?? 1000, 1000);
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    const start = options.cursor ? Number(options.cursor) : 0;
    const page = keys.slice(start, start + limit);
    const truncated = start + limit < keys.length;
    const include = Array.from(options.include ?? []);
    return {
      objects: page.map((key) => this.objects.get(key).listed(include)),
      truncated,
      ...(truncated ? { cursor: String(start + limit) } : {}),
      delimitedPrefixes: [],
    };
  }

  async createMultipartUpload(key, options) {
    const upload = new R2MultipartUpload(this, key, options);
    this.uploads.push(upload);
    return upload;
  }
}
