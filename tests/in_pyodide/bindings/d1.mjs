// env.DB: a D1 database on node:sqlite (in memory, with migrations/ applied), speaking D1's API and
// its type rules: bind() takes null, numbers, strings, booleans (stored as 0/1) and ArrayBuffer /
// Uint8Array (BLOB); undefined is refused (D1_TYPE_ERROR), as D1 refuses it. BLOB columns come back
// as arrays of numbers; a failed statement throws Error("D1_ERROR: …").

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

function d1Error(error) {
  return new Error(`D1_ERROR: ${error.message}: SQLITE_ERROR`);
}

function bindValue(value) {
  if (value === undefined) throw new Error("D1_TYPE_ERROR: Type 'undefined' not supported for value 'undefined'");
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (value === null || typeof value === "number" || typeof value === "string" || value instanceof Uint8Array) {
    return value;
  }
  throw new Error(`D1_TYPE_ERROR: Type '${typeof value}' not supported for value '${value}'`);
}

function row(values) {
  if (values === undefined) return null;
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, value instanceof Uint8Array ? Array.from(value) : value]),
  );
}

class D1PreparedStatement {
  constructor(database, sql, values = []) {
    this.database = database;
    this.sql = sql;
    this.values = values;
  }

  bind(...values) {
    return new D1PreparedStatement(this.database, this.sql, values.map(bindValue));
  }

  execute(method) {
    const start = performance.now();
    let result;
    try {
      result = this.database.sqlite.prepare(this.sql)[method](...this.values);
    } catch (error) {
      throw d1Error(error);
    }
    this.database.seconds += (performance.now() - start) / 1000;
    return result;
  }

  meta(changes = 0, lastRowId = 0) {
    return { changes, last_row_id: Number(lastRowId), duration: 0, rows_read: 0, rows_written: changes };
  }

  async all() {
    return { results: this.execute("all").map(row), success: true, meta: this.meta() };
  }

  async first(column) {
    const found = row(this.execute("get"));
    return column === undefined || found === null ? found : found[column];
  }

  async run() {
    const info = this.execute("run");
    return { results: [], success: true, meta: this.meta(info.changes, info.lastInsertRowid) };
  }
}

export class SqliteD1 {
  constructor(migrationsDir) {
    this.sqlite = new DatabaseSync(":memory:");
    this.seconds = 0; // time spent in SQLite: D1's work, which in workerd is not the isolate's
    for (const name of readdirSync(migrationsDir).filter((n) => n.endsWith(".sql")).sort()) {
      this.sqlite.exec(readFileSync(join(migrationsDir, name), "utf8"));
    }
  }

  prepare(sql) {
    return new D1PreparedStatement(this, sql);
  }

  // All or nothing, as D1 runs a batch in one transaction.
  async batch(statements) {
    this.timed("BEGIN");
    try {
      const results = [];
      for (const statement of statements) results.push(await statement.run());
      this.timed("COMMIT");
      return results;
    } catch (error) {
      this.sqlite.exec("ROLLBACK");
      throw error;
    }
  }

  timed(sql) {
    const start = performance.now();
    this.sqlite.exec(sql);
    this.seconds += (performance.now() - start) / 1000;
  }

  // For scenarios: a query straight on the database, outside the Worker.
  query(sql, ...values) {
    return this.sqlite.prepare(sql).all(...values);
  }
}
