/**
 * Where live cages are recorded: `$XDG_RUNTIME_DIR/wgcage/` for a user
 * (`/tmp/wgcage-UID` without it), or `/run/wgcage/` as root; mode 0700 and
 * owned by the user, so no other user can see, reach or join a cage. Per cage:
 *
 *     NAME.json   the record: the keeper's pid and start time, the cage's init
 *     NAME.sock   the control socket (WireGuard's userspace API)
 *
 * As root, `/var/run/wireguard/NAME.sock` links to NAME.sock, so that the
 * stock `wg` finds it. A record whose keeper is gone (kill -9) is stale: the
 * next command that looks removes it with its socket and link.
 *
 * @module
 */

import { LiveError } from "./error.ts";

/** What `wgcage up` records about a live cage. */
export interface LiveRecord {
  readonly name: string;
  /** The keeper: the wgcage process that holds the tunnel. */
  readonly pid: number;
  /** The keeper's start time (/proc/PID/stat, clock ticks since boot): pid reuse check. */
  readonly startTime: number;
  /** The cage's init as the host sees it; 0 until the cage is up. */
  readonly initPid: number;
  readonly ready: boolean;
  readonly tunName: string;
  /** `userns`, `root` or `sudo`. */
  readonly mode: string;
  readonly addresses: readonly string[];
  readonly publicKey: string;
  readonly listenPort: number;
  readonly rmWhenIdle: boolean;
  /** Wall-clock ms when the cage came up. */
  readonly since: number;
  /** As root: the link made in /var/run/wireguard, if any. */
  readonly wgLink?: string;
}

/** The directory the stock `wg` looks in (compiled into it). */
export const WG_SOCKET_DIR = "/var/run/wireguard";

const NAME = /^[A-Za-z0-9_=+.-]{1,15}$/;

/** Checks a cage name: an interface name (`wg` shows it), 1-15 of A-Z a-z 0-9 _=+.- */
export function checkName(name: string): string {
  if (!NAME.test(name) || name === "." || name === "..") {
    throw new LiveError(
      `'${name}' is not a valid cage name; use 1-15 letters, digits or _=+.- (it names the ` +
        "interface for 'wg' too), e.g. ci",
    );
  }
  return name;
}

/** Where a user's live cages are kept without XDG_RUNTIME_DIR (as tmux and podman fall back). */
export function fallbackStateDir(uid: number): string {
  return `/tmp/wgcage-${uid}`;
}

/**
 * The state directory for this user (not made). Without $XDG_RUNTIME_DIR
 * (su, cron, `sudo -u`, containers) it is /tmp/wgcage-UID, as tmux
 * (/tmp/tmux-UID) and podman (/tmp/podman-run-UID) fall back: /tmp is
 * shared, so the directory is trusted only while it is a real directory of
 * this user's of mode 0700, which {@linkcode ensureStateDir} and every lookup
 * check (another user may have made it first).
 */
export function stateDir(): string {
  if (Deno.uid() === 0) return "/run/wgcage";
  const runtime = Deno.env.get("XDG_RUNTIME_DIR");
  if (runtime === undefined || !runtime.startsWith("/")) return fallbackStateDir(Deno.uid() ?? 0);
  return `${runtime.replace(/\/+$/, "")}/wgcage`;
}

function isNotFound(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound;
}

/**
 * The state directory, made 0700 when missing; refuses one that is not a
 * directory of ours only we can use.
 */
export function ensureStateDir(): string {
  const dir = stateDir();
  try {
    Deno.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) {
      throw new LiveError(
        `Cannot make ${dir}: ${(e as Error).message}; check its parent directory`,
      );
    }
  }
  checkOwnDir(dir);
  return dir;
}

function checkOwnDir(dir: string): void {
  const st = Deno.lstatSync(dir);
  if (!st.isDirectory || st.uid !== Deno.uid() || ((st.mode ?? 0) & 0o077) !== 0) {
    throw new LiveError(
      `${dir} is not a directory of yours that only you can use (mode 0700); remove it and try ` +
        "again, or set XDG_RUNTIME_DIR to a directory of yours",
    );
  }
}

/** The keeper's start time, or undefined when no process has that pid. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // A zombie has ended: its parent just has not reaped it yet.
    if (fields[0] === "Z" || fields[0] === "X") return undefined;
    // Field 22 of stat; fields[0] here is field 3.
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

/** The parent pid of `pid`, or undefined. */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** Whether the record's keeper still runs (same pid, same start time). */
export function isAlive(r: Pick<LiveRecord, "pid" | "startTime">): boolean {
  return r.pid > 0 && processStartTime(r.pid) === r.startTime;
}

export function recordPath(dir: string, name: string): string {
  return `${dir}/${name}.json`;
}

export function socketPath(dir: string, name: string): string {
  return `${dir}/${name}.sock`;
}

function readRecord(path: string): LiveRecord | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(path)) as LiveRecord;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    // Half written by a keeper that died mid-write: as good as stale.
    return { name: "", pid: 0, startTime: 0 } as LiveRecord;
  }
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // already gone
  }
}

/** Removes everything a cage left: record, socket, and the link for `wg`. */
export function removeState(dir: string, name: string, record?: LiveRecord): void {
  removeQuietly(socketPath(dir, name));
  const link = record?.wgLink;
  if (link !== undefined) {
    try {
      if (Deno.readLinkSync(link) === socketPath(dir, name)) removeQuietly(link);
    } catch {
      // not ours, or gone
    }
  }
  removeQuietly(recordPath(dir, name));
  // The directory stays, empty: cages cover it where it is (state_cover.ts),
  // and one made anew would not be under their covers.
}

/**
 * The live cages of this user, with stale records removed on the way. A
 * record still being written (its keeper alive, not ready) is left out.
 */
export function liveRecords(): LiveRecord[] {
  const dir = stateDir();
  try {
    checkOwnDir(dir);
  } catch (e) {
    // None made yet: no cages. One that is not ours is refused, not read.
    if (isNotFound(e)) return [];
    throw e;
  }
  const out: LiveRecord[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.name.endsWith(".json")) continue;
    const name = entry.name.slice(0, -5);
    const r = readRecord(recordPath(dir, name));
    if (r === undefined) continue;
    if (!isAlive(r)) {
      removeState(dir, name, r);
      continue;
    }
    if (r.ready) out.push(r);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The live cage `name`; throws {@linkcode LiveError} naming the live ones
 * when there is none.
 */
export function findLive(name: string): { dir: string; record: LiveRecord } {
  checkName(name);
  const live = liveRecords();
  const record = live.find((r) => r.name === name);
  if (record === undefined) {
    const names = live.map((r) => r.name);
    throw new LiveError(
      `No live cage named '${name}'; ` +
        (names.length > 0
          ? `live ones: ${names.join(", ")}`
          : `none is up; start one with 'wgcage up ${name} --config FILE'`),
    );
  }
  return { dir: stateDir(), record };
}

/**
 * Claims `name` for a new keeper (this process): an exclusive record file.
 * A stale record is removed first; a live one is refused.
 */
export function claimName(name: string): string {
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = ensureStateDir();
    const path = recordPath(dir, name);
    try {
      const file = Deno.openSync(path, { createNew: true, write: true, mode: 0o600 });
      file.writeSync(new TextEncoder().encode(JSON.stringify(claimRecord(name))));
      file.close();
      return dir;
    } catch (e) {
      if (isNotFound(e)) continue; // the directory went with another cage's state
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    const existing = readRecord(path);
    if (existing !== undefined && isAlive(existing)) {
      throw new LiveError(
        `A cage named '${name}' is up already (keeper pid ${existing.pid}); use it with ` +
          `'wgcage exec ${name} -- CMD', end it with 'wgcage down ${name}', or pick another name`,
      );
    }
    removeState(dir, name, existing);
  }
  throw new LiveError(`Cannot claim the name '${name}'; another wgcage took it meanwhile`);
}

function claimRecord(name: string): LiveRecord {
  return {
    name,
    pid: Deno.pid,
    startTime: processStartTime(Deno.pid) ?? 0,
    initPid: 0,
    ready: false,
    tunName: "",
    mode: "",
    addresses: [],
    publicKey: "",
    listenPort: 0,
    rmWhenIdle: false,
    since: Date.now(),
  };
}

/** Replaces the record (written aside, then renamed over it). */
export function writeRecord(dir: string, record: LiveRecord): void {
  const path = recordPath(dir, record.name);
  const part = `${path}.part${Deno.pid}`;
  Deno.writeTextFileSync(part, JSON.stringify(record), { mode: 0o600 });
  Deno.renameSync(part, path);
}
