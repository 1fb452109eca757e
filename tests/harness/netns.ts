/**
 * Network namespaces, veth links and the `Lab` that owns them.
 *
 * A test opens a lab, builds a topology in it and closes it in `finally`:
 *
 * ```
 *   test's own namespace            wgc-<pid>-<n>-server        wgc-<pid>-<n>-client
 *   ┌───────────────────┐           ┌────────────────────┐      ┌────────────────────┐
 *   │ wgc<pid>h<n> ─────┼── veth ───┼─ veth0             │      │                    │
 *   │ 198.19.x.y/30     │           │  198.19.x.y+1/30   │      │                    │
 *   └───────────────────┘           │ veth1 ─────────────┼─veth─┼─ veth1             │
 *                                   │  198.18.n.1/30     │      │  198.18.n.2/30     │
 *                                   │  fd18::n:1/126     │      │  fd18::n:2/126     │
 *                                   └────────────────────┘      └────────────────────┘
 * ```
 *
 * Underlay addresses come from the RFC 2544 benchmark range (198.18.0.0/15)
 * and fd18::/16, and exist only on links the lab made. `lab.close()` stops
 * every process first, then deletes the namespaces and links; it is safe to
 * call twice.
 *
 * @module
 */

import {
  interfaceName,
  namespaceName,
  pidOfInterface,
  pidOfNamespace,
  pidOfTempDir,
  tempDirPrefix,
} from "./names.ts";
import { NsProcess, pidAlive, run, type RunOptions, type RunResult } from "./process.ts";

/** Something the lab stops before it deletes namespaces. */
export interface Stoppable {
  stop(): Promise<unknown>;
}

/** Fails with a clear message unless the test runs as root. */
export function requireRoot(what = "This test"): void {
  if (Deno.uid() !== 0) {
    throw new Error(
      `${what} needs root (network namespaces, veth, /dev/net/tun); run it with sudo`,
    );
  }
}

/** Fails with a clear message unless `tool` is on PATH. */
export async function requireTool(tool: string, debianPackage: string): Promise<void> {
  const found = await run(["sh", "-c", `command -v ${tool}`], { allowFailure: true });
  if (found.code !== 0) {
    throw new Error(
      `Cannot find ${tool} on PATH; install it (apt-get install ${debianPackage})`,
    );
  }
}

/** A network namespace the lab created. */
export class Namespace {
  /** The namespace's name (`ip netns` name). */
  readonly name: string;
  /** The role it was created for, e.g. `server`. */
  readonly role: string;
  readonly #lab: Lab;

  /** @internal Made by {@link Lab.namespace}. */
  constructor(lab: Lab, name: string, role: string) {
    this.#lab = lab;
    this.name = name;
    this.role = role;
  }

  /** Runs a command to completion inside this namespace. */
  run(argv: readonly string[], options: Omit<RunOptions, "ns"> = {}): Promise<RunResult> {
    return run(argv, { ...options, ns: this.name });
  }

  /** Runs `ip ARGS…` inside this namespace. */
  ip(...args: string[]): Promise<RunResult> {
    return run(["ip", "-n", this.name, ...args]);
  }

  /** Starts a long-lived command inside this namespace; the lab stops it on close. */
  spawn(argv: readonly string[], env?: Record<string, string>): NsProcess {
    return this.#lab.spawn(argv, { ns: this, env });
  }

  /** Pids of every process currently inside this namespace. */
  async pids(): Promise<number[]> {
    const { stdout } = await run(["ip", "netns", "pids", this.name], { allowFailure: true });
    return stdout.split(/\s+/).filter((s) => s !== "").map(Number);
  }
}

/** One end of a veth link. */
export interface LinkEnd {
  /** The namespace, or undefined for the test's own namespace. */
  readonly ns: Namespace | undefined;
  /** Interface name inside that namespace. */
  readonly ifname: string;
  /** IPv4 address without prefix, e.g. `198.18.1.1`. */
  readonly ipv4: string;
  /** IPv6 address without prefix, or undefined when the link has no IPv6. */
  readonly ipv6: string | undefined;
}

/** A veth pair the lab created, with addresses on both ends. */
export interface Link {
  readonly a: LinkEnd;
  readonly b: LinkEnd;
}

/** Options for {@link Lab.link}. */
export interface LinkOptions {
  /** Also give both ends IPv6 addresses (fd18::…/126). Default true. */
  readonly ipv6?: boolean;
  /** MTU of both ends; default 1500. */
  readonly mtu?: number;
}

/**
 * Records everything a test creates and removes all of it on `close()`:
 * deferred cleanups (newest first), then processes, then namespaces (after
 * killing anything still inside), then links in the test's own namespace,
 * then temporary files.
 */
export class Lab {
  readonly #namespaces: Namespace[] = [];
  readonly #hostLinks: string[] = [];
  readonly #stoppables = new Set<Stoppable>();
  readonly #deferred: (() => Promise<unknown> | unknown)[] = [];
  #tempDir: string | undefined;
  #linkSerial = 0;
  #closed = false;

  private constructor() {}

  /**
   * Opens a lab: checks for root, and removes namespaces and links left by
   * earlier test processes that are no longer alive.
   */
  static async open(): Promise<Lab> {
    requireRoot("The interop harness");
    await sweepStale();
    return new Lab();
  }

  /** A fresh temporary directory (mode 0700) removed on close. */
  async tempDir(): Promise<string> {
    this.#assertOpen();
    this.#tempDir ??= await Deno.makeTempDir({ prefix: tempDirPrefix("lab") });
    await Deno.chmod(this.#tempDir, 0o700);
    return this.#tempDir;
  }

  /** Creates a namespace for `role` with `lo` up. */
  async namespace(role: string): Promise<Namespace> {
    this.#assertOpen();
    for (let attempt = 0;; attempt++) {
      const name = namespaceName(role);
      const made = await run(["ip", "netns", "add", name], { allowFailure: true });
      if (made.code === 0) {
        const ns = new Namespace(this, name, role);
        this.#namespaces.push(ns);
        await ns.ip("link", "set", "lo", "up");
        return ns;
      }
      if (!/exists/i.test(made.stderr) || attempt > 5) {
        throw new Error(`Cannot create namespace ${name}: ${made.stderr.trim()}`);
      }
    }
  }

  /**
   * Joins two namespaces with a veth pair, or a namespace and the test's own
   * namespace when `b` is `"host"`. Both ends are up and addressed: between
   * namespaces 198.18.<n>.1/30 (a) and .2/30 (b), fd18::<n>:1/126 and :2;
   * to the test's own namespace a /30 of 198.19.0.0/16 and a /126 of
   * fd18:1::/64 that no other address here uses; then `link.a` is the
   * namespace's end (…2) and `link.b` the test's own end (…1, `ns` undefined).
   */
  async link(a: Namespace, b: Namespace | "host", options: LinkOptions = {}): Promise<Link> {
    this.#assertOpen();
    const ipv6 = options.ipv6 ?? true;
    const mtu = options.mtu ?? 1500;
    if (b === "host") return await this.#linkToHost(a, ipv6, mtu);
    const n = ++this.#linkSerial;
    if (n > 255) throw new RangeError("Cannot make more than 255 links in one lab");
    const aIf = await freeVethName(a);
    const bIf = await freeVethName(b);
    await run([
      "ip",
      "link",
      "add",
      aIf,
      "netns",
      a.name,
      "mtu",
      String(mtu),
      "type",
      "veth",
      "peer",
      "name",
      bIf,
      "netns",
      b.name,
      "mtu",
      String(mtu),
    ]);
    const hex = n.toString(16);
    const aEnd: LinkEnd = {
      ns: a,
      ifname: aIf,
      ipv4: `198.18.${n}.1`,
      ipv6: ipv6 ? `fd18::${hex}:1` : undefined,
    };
    const bEnd: LinkEnd = {
      ns: b,
      ifname: bIf,
      ipv4: `198.18.${n}.2`,
      ipv6: ipv6 ? `fd18::${hex}:2` : undefined,
    };
    await configureEnd(aEnd, 30, 126);
    await configureEnd(bEnd, 30, 126);
    return { a: aEnd, b: bEnd };
  }

  async #linkToHost(a: Namespace, ipv6: boolean, mtu: number): Promise<Link> {
    const aIf = await freeVethName(a);
    let hostIf = "";
    for (let attempt = 0;; attempt++) {
      hostIf = interfaceName("h");
      const made = await run([
        "ip",
        "link",
        "add",
        hostIf,
        "mtu",
        String(mtu),
        "type",
        "veth",
        "peer",
        "name",
        aIf,
        "netns",
        a.name,
        "mtu",
        String(mtu),
      ], { allowFailure: true });
      if (made.code === 0) break;
      if (!/exists/i.test(made.stderr) || attempt > 5) {
        throw new Error(`Cannot create veth ${hostIf}: ${made.stderr.trim()}`);
      }
    }
    this.#hostLinks.push(hostIf);
    const block = await freeHostBlock();
    const base = block * 4;
    const v4 = (host: number) => `198.19.${(base + host) >> 8}.${(base + host) & 0xff}`;
    const hex = block.toString(16);
    const hostEnd: LinkEnd = {
      ns: undefined,
      ifname: hostIf,
      ipv4: v4(1),
      ipv6: ipv6 ? `fd18:1::${hex}:1` : undefined,
    };
    const nsEnd: LinkEnd = {
      ns: a,
      ifname: aIf,
      ipv4: v4(2),
      ipv6: ipv6 ? `fd18:1::${hex}:2` : undefined,
    };
    await configureEnd(hostEnd, 30, 126);
    await configureEnd(nsEnd, 30, 126);
    return { a: nsEnd, b: hostEnd };
  }

  /**
   * Starts a long-lived command in `ns` (the test's own namespace when
   * absent); the lab stops it on close.
   */
  spawn(
    argv: readonly string[],
    options: { ns?: Namespace; env?: Record<string, string> } = {},
  ): NsProcess {
    this.#assertOpen();
    return this.track(NsProcess.spawn(argv, { ns: options.ns?.name, env: options.env }));
  }

  /** Stops `thing` on close (before namespaces go); returns it. */
  track<T extends Stoppable>(thing: T): T {
    this.#assertOpen();
    this.#stoppables.add(thing);
    return thing;
  }

  /** Forgets a stoppable that was stopped already. */
  untrack(thing: Stoppable): void {
    this.#stoppables.delete(thing);
  }

  /** Runs `cleanup` on close, before processes are stopped (newest first). */
  defer(cleanup: () => Promise<unknown> | unknown): void {
    this.#assertOpen();
    this.#deferred.push(cleanup);
  }

  /** The namespaces this lab made and has not yet removed. */
  get namespaces(): readonly Namespace[] {
    return this.#namespaces;
  }

  /**
   * Removes everything this lab made. Safe to call twice. Throws one error
   * listing every step that failed, after trying all of them.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const failures: string[] = [];
    const attempt = async (what: string, step: () => Promise<unknown> | unknown) => {
      try {
        await step();
      } catch (e) {
        failures.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    while (this.#deferred.length > 0) {
      const cleanup = this.#deferred.pop()!;
      await attempt("deferred cleanup", cleanup);
    }
    await Promise.all(
      [...this.#stoppables].map((s) => attempt("stop process", () => s.stop())),
    );
    this.#stoppables.clear();
    for (const ns of this.#namespaces.splice(0).reverse()) {
      await attempt(`remove namespace ${ns.name}`, () => removeNamespace(ns.name));
    }
    for (const ifname of this.#hostLinks.splice(0)) {
      await run(["ip", "link", "del", ifname], { allowFailure: true });
    }
    if (this.#tempDir !== undefined) {
      const dir = this.#tempDir;
      this.#tempDir = undefined;
      await attempt(`remove ${dir}`, () => Deno.remove(dir, { recursive: true }));
    }
    if (failures.length > 0) {
      throw new Error(`Cannot clean up the lab completely: ${failures.join("; ")}`);
    }
  }

  /** Lets `await using lab = await Lab.open()` close the lab. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("Cannot use a lab after close()");
  }
}

async function configureEnd(end: LinkEnd, prefix4: number, prefix6: number): Promise<void> {
  const ip = (...args: string[]) =>
    run(end.ns ? ["ip", "-n", end.ns.name, ...args] : ["ip", ...args]);
  await ip("addr", "add", `${end.ipv4}/${prefix4}`, "dev", end.ifname);
  if (end.ipv6 !== undefined) {
    await ip("addr", "add", `${end.ipv6}/${prefix6}`, "dev", end.ifname, "nodad");
  } else {
    const sysctl = ["sysctl", "-qw", `net.ipv6.conf.${end.ifname}.disable_ipv6=1`];
    await run(sysctl, { ns: end.ns?.name });
  }
  await ip("link", "set", end.ifname, "up");
}

/** `veth0`, `veth1`, … : the first name not yet used in the namespace. */
async function freeVethName(ns: Namespace): Promise<string> {
  const { stdout } = await ns.ip("-j", "link", "show");
  const used = new Set((JSON.parse(stdout) as { ifname: string }[]).map((l) => l.ifname));
  for (let i = 0;; i++) {
    if (!used.has(`veth${i}`)) return `veth${i}`;
  }
}

/** A /30 block index in 198.19.0.0/16 not used by any address in our own namespace. */
async function freeHostBlock(): Promise<number> {
  const { stdout } = await run(["ip", "-j", "-4", "addr", "show"]);
  const used = new Set<number>();
  for (const link of JSON.parse(stdout) as { addr_info?: { local: string }[] }[]) {
    for (const info of link.addr_info ?? []) {
      const m = /^198\.19\.(\d+)\.(\d+)$/.exec(info.local);
      if (m) used.add((Number(m[1]) * 256 + Number(m[2])) >> 2);
    }
  }
  const start = (Deno.pid * 97 + Math.floor(Math.random() * 16384)) % 16384;
  for (let i = 0; i < 16384; i++) {
    const block = (start + i) % 16384;
    if (block !== 0 && !used.has(block)) return block;
  }
  throw new Error("Cannot find a free address block in 198.19.0.0/16");
}

/** Kills every process inside a namespace, then deletes it. */
export async function removeNamespace(name: string): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const { stdout } = await run(["ip", "netns", "pids", name], { allowFailure: true });
    const pids = stdout.split(/\s+/).filter((s) => s !== "").map(Number);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        Deno.kill(pid, round < 10 ? "SIGTERM" : "SIGKILL");
      } catch {
        // gone already
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const del = await run(["ip", "netns", "del", name], { allowFailure: true });
  if (del.code !== 0 && !/No such file/i.test(del.stderr)) {
    throw new Error(`Cannot delete namespace ${name}: ${del.stderr.trim()}`);
  }
}

/** Names of every namespace that `ip netns` knows. */
export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run(["ip", "-j", "netns", "list"], { allowFailure: true });
  if (stdout.trim() === "") return [];
  return (JSON.parse(stdout) as { name: string }[]).map((n) => n.name);
}

/**
 * Removes namespaces, host-side veths, WireGuard control sockets and
 * temporary directories (which may hold key files) left by
 * harness runs whose process is dead. Never touches anything of a live
 * process (including this one) and nothing not named by the harness.
 * Returns the names it removed.
 */
export async function sweepStale(): Promise<string[]> {
  const removed: string[] = [];
  const stale = (pid: number | undefined) =>
    pid !== undefined && pid !== Deno.pid && !pidAlive(pid);
  for (const name of await listNamespaces()) {
    if (stale(pidOfNamespace(name))) {
      await removeNamespace(name);
      removed.push(name);
    }
  }
  const { stdout } = await run(["ip", "-j", "link", "show"]);
  for (const link of JSON.parse(stdout) as { ifname: string }[]) {
    if (stale(pidOfInterface(link.ifname))) {
      await run(["ip", "link", "del", link.ifname], { allowFailure: true });
      removed.push(link.ifname);
    }
  }
  try {
    for (const entry of Deno.readDirSync("/var/run/wireguard")) {
      const ifname = entry.name.replace(/\.sock$/, "");
      if (entry.name.endsWith(".sock") && stale(pidOfInterface(ifname))) {
        await Deno.remove(`/var/run/wireguard/${entry.name}`).catch(() => {});
        removed.push(entry.name);
      }
    }
  } catch {
    // no control socket directory: nothing to sweep
  }
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  for (const entry of Deno.readDirSync(tmp)) {
    if (entry.isDirectory && stale(pidOfTempDir(entry.name))) {
      await Deno.remove(`${tmp}/${entry.name}`, { recursive: true }).catch(() => {});
      removed.push(`${tmp}/${entry.name}`);
    }
  }
  return removed;
}
