/**
 * Port forwards made through the API (`forwards.json` in the state
 * directory), kept across restarts as the clients are: written whole to a
 * temporary file and renamed, so a crash leaves the old list or the new one.
 * Each forward has a number of its own, never reused while the file lives,
 * which names it in the API (`DELETE /v1/forwards/ID`) and in the relay.
 *
 * @module
 */

import { ServeError } from "./error.ts";
import { ensurePrivateDir, writeAtomic } from "./store.ts";
import type { ServeForward } from "./forward_spec.ts";

export interface ForwardRecord extends ServeForward {
  readonly id: number;
  /** ms since the epoch. */
  readonly created: number;
}

interface ForwardFile {
  readonly version: 1;
  readonly next: number;
  readonly forwards: ForwardRecord[];
}

/** Forwards through the API at once, at most (the relay holds 64 rules with the flags'). */
export const MAX_API_FORWARDS = 48;

export class ForwardStore {
  readonly path: string;
  readonly #byId = new Map<number, ForwardRecord>();
  #next: number;

  private constructor(path: string, file: ForwardFile) {
    this.path = path;
    this.#next = file.next;
    for (const f of file.forwards) this.#byId.set(f.id, f);
  }

  static open(dir: string): ForwardStore {
    ensurePrivateDir(dir);
    const path = `${dir}/forwards.json`;
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        return new ForwardStore(path, { version: 1, next: 1, forwards: [] });
      }
      throw new ServeError(
        `Cannot read ${path}: ${(e as Error).message}; make it readable by you, or remove it`,
      );
    }
    try {
      const parsed = JSON.parse(text) as ForwardFile;
      if (
        parsed.version !== 1 || !Array.isArray(parsed.forwards) ||
        !Number.isSafeInteger(parsed.next) ||
        parsed.forwards.some((f) =>
          !Number.isSafeInteger(f.id) || f.id >= parsed.next || typeof f.publicKey !== "string" ||
          (f.protocol !== "tcp" && f.protocol !== "udp") || typeof f.hostAddress !== "string" ||
          !Number.isInteger(f.hostPort) || !Number.isInteger(f.clientPort)
        )
      ) {
        throw new Error("bad shape");
      }
      return new ForwardStore(path, parsed);
    } catch {
      throw new ServeError(
        `${path} is not a forward list this wgcage wrote; move it away to start with no forwards`,
      );
    }
  }

  get size(): number {
    return this.#byId.size;
  }

  list(): ForwardRecord[] {
    return [...this.#byId.values()];
  }

  get(id: number): ForwardRecord | undefined {
    return this.#byId.get(id);
  }

  /** The number the next forward gets (so the relay can take it before the save). */
  get nextId(): number {
    return this.#next;
  }

  /** Adds a forward with {@linkcode nextId} and saves; on a failed save nothing changed. */
  add(f: ServeForward): ForwardRecord {
    const record: ForwardRecord = { ...f, id: this.#next, created: Date.now() };
    this.#byId.set(record.id, record);
    this.#next++;
    try {
      this.#save();
    } catch (e) {
      this.#byId.delete(record.id);
      this.#next--;
      throw e;
    }
    return record;
  }

  /** Removes a forward and saves; on a failed save nothing changed. */
  remove(id: number): ForwardRecord | undefined {
    const f = this.#byId.get(id);
    if (f === undefined) return undefined;
    this.#byId.delete(id);
    try {
      this.#save();
    } catch (e) {
      this.#byId.set(id, f);
      throw e;
    }
    return f;
  }

  #save(): void {
    const file: ForwardFile = { version: 1, next: this.#next, forwards: this.list() };
    writeAtomic(this.path, JSON.stringify(file, null, 1) + "\n");
  }
}

/**
 * The relay's number for API forward `id`: beyond those of the flags' rules
 * (numbered from 0), so that removing one never touches a flag's.
 */
export function liveRule(id: number): number {
  return (1 << 20) + id;
}
