/**
 * The server's state directory: registered clients (`clients.json`), kept
 * across restarts. The directory is 0700 and the server's own; each write
 * goes to a temporary file that is renamed over the old one, so a crash
 * leaves the old list or the new one, never half of either. It holds
 * public keys and addresses only (the server never has a client's private
 * key); the server's private key stays where the operator keeps it.
 *
 * @module
 */

import { ServeError } from "./error.ts";

export interface ClientRecord {
  /** Base64, as `wg` prints it. */
  readonly publicKey: string;
  /** The client's tunnel address (a /32 in the subnet). */
  readonly address: string;
  readonly name?: string;
  /** ms since the epoch. */
  readonly created: number;
}

interface StoreFile {
  readonly version: 1;
  readonly clients: ClientRecord[];
}

/** The default state directory: $XDG_STATE_HOME/wgcage/serve-NAME, /var/lib/wgcage/serve-NAME as root. */
export function defaultStateDir(name: string): string {
  if (Deno.uid() === 0) return `/var/lib/wgcage/serve-${name}`;
  const xdg = Deno.env.get("XDG_STATE_HOME");
  const base = xdg !== undefined && xdg.startsWith("/")
    ? xdg
    : `${Deno.env.get("HOME") ?? "/nonexistent"}/.local/state`;
  return `${base}/wgcage/serve-${name}`;
}

/** Makes `dir` (0700) if missing and refuses one another user or group could use. */
export function ensurePrivateDir(dir: string): void {
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new ServeError(
      `Cannot make the state directory ${dir}: ${(e as Error).message}; check its parent directory`,
    );
  }
  const st = Deno.lstatSync(dir);
  if (!st.isDirectory || st.uid !== Deno.uid() || ((st.mode ?? 0) & 0o077) !== 0) {
    throw new ServeError(
      `The state directory ${dir} must be a directory of yours that only you can use: ` +
        `run 'chmod 700 ${dir}' or give another --state-dir`,
    );
  }
}

/** Writes `text` to `path` atomically (a temporary file in the same directory, renamed). */
export function writeAtomic(path: string, text: string, mode = 0o600): void {
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    const f = Deno.openSync(tmp, { write: true, createNew: true, mode });
    try {
      const bytes = new TextEncoder().encode(text);
      let done = 0;
      while (done < bytes.length) done += f.writeSync(bytes.subarray(done));
      f.syncSync();
    } finally {
      f.close();
    }
    Deno.renameSync(tmp, path);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // not made
    }
    throw e;
  }
}

export class ClientStore {
  readonly path: string;
  readonly #byKey = new Map<string, ClientRecord>();

  private constructor(path: string, clients: ClientRecord[]) {
    this.path = path;
    for (const c of clients) this.#byKey.set(c.publicKey, c);
  }

  static open(dir: string): ClientStore {
    ensurePrivateDir(dir);
    const path = `${dir}/clients.json`;
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return new ClientStore(path, []);
      throw new ServeError(
        `Cannot read ${path}: ${(e as Error).message}; make it readable by you`,
      );
    }
    let parsed: StoreFile;
    try {
      parsed = JSON.parse(text);
      if (parsed.version !== 1 || !Array.isArray(parsed.clients)) throw new Error("bad shape");
      for (const c of parsed.clients) {
        if (typeof c.publicKey !== "string" || typeof c.address !== "string") {
          throw new Error("bad client");
        }
      }
    } catch {
      throw new ServeError(
        `${path} is not a client list this wgcage wrote; move it away to start with no clients`,
      );
    }
    return new ClientStore(path, parsed.clients);
  }

  get size(): number {
    return this.#byKey.size;
  }

  list(): ClientRecord[] {
    return [...this.#byKey.values()];
  }

  get(publicKey: string): ClientRecord | undefined {
    return this.#byKey.get(publicKey);
  }

  addresses(): Set<string> {
    return new Set([...this.#byKey.values()].map((c) => c.address));
  }

  /** Adds a client and saves; on a failed save nothing changed. */
  add(c: ClientRecord): void {
    this.#byKey.set(c.publicKey, c);
    try {
      this.#save();
    } catch (e) {
      this.#byKey.delete(c.publicKey);
      throw e;
    }
  }

  /** Removes a client and saves; on a failed save nothing changed. */
  remove(publicKey: string): ClientRecord | undefined {
    const c = this.#byKey.get(publicKey);
    if (c === undefined) return undefined;
    this.#byKey.delete(publicKey);
    try {
      this.#save();
    } catch (e) {
      this.#byKey.set(publicKey, c);
      throw e;
    }
    return c;
  }

  #save(): void {
    const file: StoreFile = { version: 1, clients: this.list() };
    writeAtomic(this.path, JSON.stringify(file, null, 1) + "\n");
  }
}
