// env.VECTORS: a Vectorize index in memory, with the binding's shapes: upsert([{id, values,
// metadata}]) and deleteByIds(ids) answer a mutation; query(vector, {topK, filter, returnValues,
// returnMetadata}) answers {matches: [{id, score}], count}, cosine similarity, best first. Filters:
// {key: value} or {key: {$eq | $ne | $in | $nin: value}}, keys ANDed; topK at most 100 (50 with
// values or metadata returned). Unlike the real index, mutations apply at once.

const OPERATORS = new Set(["$eq", "$ne", "$in", "$nin"]);

function unit(values) {
  const norm = Math.hypot(...values) || 1;
  return Float64Array.from(values, (v) => v / norm);
}

function passes(metadata, filter) {
  for (const [key, raw] of Object.entries(filter ?? {})) {
    const condition = raw !== null && typeof raw === "object" && !Array.isArray(raw) ? raw : { $eq: raw };
    const value = metadata[key];
    for (const [operator, operand] of Object.entries(condition)) {
      if (!OPERATORS.has(operator)) throw new Error(`VECTOR_QUERY_ERROR: unsupported filter operator ${operator}`);
      const listed = Array.isArray(operand) ? operand.includes(value) : false;
      if ((operator === "$eq" && value !== operand) || (operator === "$ne" && value === operand)
          || (operator === "$in" && !listed) || (operator === "$nin" && listed)) return false;
    }
  }
  return true;
}

export class MemoryVectorize {
  constructor() {
    this.vectors = new Map();
    this.calls = [];
    this.serial = 0;
  }

  async upsert(vectors) {
    this.calls.push({ upsert: vectors.length });
    for (const { id, values, metadata } of vectors) {
      if (typeof id !== "string" || new TextEncoder().encode(id).length > 64) throw new Error("VECTOR_UPSERT_ERROR: bad id");
      this.vectors.set(id, { values: unit(Array.from(values)), metadata: structuredClone(metadata ?? {}) });
    }
    return { mutationId: `m-${++this.serial}` };
  }

  async query(vector, options = {}) {
    const { topK = 5, filter, returnValues = false, returnMetadata = "none" } = options;
    this.calls.push({ query: { topK, filter } });
    const limit = returnValues || (returnMetadata && returnMetadata !== "none") ? 50 : 100;
    if (topK < 1 || topK > limit) throw new Error(`VECTOR_QUERY_ERROR: topK must be between 1 and ${limit}`);
    const q = unit(Array.from(vector));
    const matches = [...this.vectors.entries()]
      .filter(([, v]) => passes(v.metadata, filter))
      .map(([id, v]) => ({ id, score: v.values.reduce((sum, x, i) => sum + x * q[i], 0) }))
      .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
      .slice(0, topK);
    return { matches, count: matches.length };
  }

  async deleteByIds(ids) {
    this.calls.push({ deleteByIds: ids.length });
    for (const id of ids) this.vectors.delete(id);
    return { mutationId: `m-${++this.serial}` };
  }
}
