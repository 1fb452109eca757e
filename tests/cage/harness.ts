/**
 * Runs tests/cage/driver.ts as a subprocess, as root or as uid 65534. For the
 * unprivileged runs, a private mount namespace lays a 0666 TUN node over
 * /dev/net/tun (the host's node and its mode are never touched), and the
 * driver gets a DENO_DIR it can write.
 *
 * @module
 */

import type { DriverSpec } from "./driver.ts";

/** The repository root. */
export const REPO = new URL("../../", import.meta.url).pathname;
const DRIVER = `${REPO}tests/cage/driver.ts`;
const NOBODY = 65534;

/** Who runs the driver. */
export type Who = "root" | "nobody";

/** Fails (never skips) when not root: the cage tests set up namespaces and device nodes. */
export function requireRoot(): void {
  if (Deno.uid() !== 0) {
    throw new Error("The cage tests need root (they make device nodes and drop to uid 65534)");
  }
}

/** Fails when a tool the test needs is missing. */
export function requireTool(name: string): void {
  const found = new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "null" })
    .outputSync().success;
  if (!found) throw new Error(`The test needs '${name}'; install it (apt-get install …)`);
}

/** What a finished driver gave. */
export interface DriverResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** How a driver is run. */
export interface RunOptions {
  /** Hide /dev/net/tun from an unprivileged driver. */
  hideTun?: boolean;
  /** Shell run as root in the driver's private mount namespace first; `$0` is the temp dir. */
  prelude?: string;
  /** Another script taking the driver's arguments (a path). */
  script?: string;
  /** More environment for the driver (e.g. SUDO_UID). */
  env?: Record<string, string>;
}

/** A place to run drivers from: temp dir, DENO_DIR, TUN node. */
export class DriverEnv {
  readonly who: Who;
  readonly dir: string;
  readonly #tunMode: number;

  private constructor(who: Who, dir: string, tunMode: number) {
    this.who = who;
    this.dir = dir;
    this.#tunMode = tunMode;
  }

  /**
   * Makes the temp dir (world-readable, owned by the driver's uid). `tunMode`
   * is the mode of the TUN node the unprivileged driver sees; "missing" hides
   * /dev/net/tun from it.
   */
  static async create(who: Who, tun: { mode?: number } = {}): Promise<DriverEnv> {
    requireRoot();
    const dir = await Deno.makeTempDir({ prefix: "wgcage-cage-test-" });
    await Deno.chmod(dir, 0o755);
    await Deno.mkdir(`${dir}/deno`);
    await Deno.mkdir(`${dir}/dev`);
    await Deno.mkdir(`${dir}/tmp`);
    if (who === "nobody") {
      for (const d of [dir, `${dir}/deno`, `${dir}/tmp`]) await Deno.chown(d, NOBODY, NOBODY);
    }
    const env = new DriverEnv(who, dir, tun.mode ?? 0o666);
    const mk = await new Deno.Command("mknod", { args: [`${dir}/dev/tun`, "c", "10", "200"] })
      .output();
    if (!mk.success) {
      await env.close();
      throw new Error(`Cannot make a TUN node: ${new TextDecoder().decode(mk.stderr)}`);
    }
    await Deno.chmod(`${dir}/dev/tun`, env.#tunMode);
    await Deno.mkdir(`${dir}/empty`);
    return env;
  }

  /** The bare `deno run … driver.ts` argv (or `opts.script` instead of the driver). */
  driverArgs(spec: DriverSpec, argv: string[], opts: RunOptions = {}): string[] {
    const script = opts.script ?? DRIVER;
    return [Deno.execPath(), "run", "-A", "--quiet", script, JSON.stringify(spec), ...argv];
  }

  /**
   * The argv that runs the driver with `spec` and the command `argv`, in a
   * private mount namespace where `prelude` (shell, `$0` is the temp dir) ran
   * first as root.
   */
  args(spec: DriverSpec, argv: string[], opts: RunOptions = {}): string[] {
    const deno = this.driverArgs(spec, argv, opts);
    const steps = [];
    if (this.who === "nobody") {
      steps.push(
        opts.hideTun
          ? `mount --bind "$0/empty" /dev/net`
          : `mount --bind "$0/dev/tun" /dev/net/tun`,
      );
    }
    if (opts.prelude) steps.push(opts.prelude);
    const drop = this.who === "nobody"
      ? ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups"]
      : [];
    return [
      "unshare",
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      [...steps, `exec "$@"`].join(" && "),
      this.dir,
      ...drop,
      ...deno,
    ];
  }

  /** Environment of the driver. */
  env(): Record<string, string> {
    return {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      DENO_DIR: `${this.dir}/deno`,
      TMPDIR: `${this.dir}/tmp`,
      HOME: this.dir,
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
    };
  }

  /** A driver process, stdout and stderr piped. */
  spawn(spec: DriverSpec, argv: string[], opts: RunOptions = {}): Deno.ChildProcess {
    const [cmd, ...args] = this.args(spec, argv, opts);
    return new Deno.Command(cmd, {
      args,
      env: { ...this.env(), ...opts.env },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      cwd: this.dir,
    }).spawn();
  }

  /** Runs a driver to its end. */
  async run(spec: DriverSpec, argv: string[], opts: RunOptions = {}): Promise<DriverResult> {
    const out = await this.spawn(spec, argv, opts).output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  }

  /** What drivers left in their temp directory (TMPDIR): should be nothing. */
  async leftovers(): Promise<string[]> {
    const names: string[] = [];
    for await (const e of Deno.readDir(`${this.dir}/tmp`)) names.push(e.name);
    return names;
  }

  async close(): Promise<void> {
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** Pids of processes with an argument equal to `arg` (e.g. the unique time of a `sleep`). */
export async function processesWith(arg: string): Promise<number[]> {
  const found: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmdline = await Deno.readTextFile(`/proc/${e.name}/cmdline`);
      if (cmdline.split("\0").includes(arg)) found.push(Number(e.name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Reads a stream's lines until one matches; returns it (the rest keeps flowing into `all`). */
export function lineWatcher(stream: ReadableStream<Uint8Array>): {
  waitFor(re: RegExp, timeoutMs: number): Promise<string>;
  text(): string;
  done: Promise<void>;
} {
  let all = "";
  const waiters: { re: RegExp; resolve: (s: string) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const line = all.split("\n").find((l) => w.re.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  const done = (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      all += chunk;
      check();
    }
  })();
  return {
    waitFor(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`No line matching ${re} within ${timeoutMs} ms; got: ${all}`)),
          timeoutMs,
        );
        waiters.push({
          re,
          resolve: (s) => {
            clearTimeout(timer);
            resolve(s);
          },
        });
        check();
      });
    },
    text: () => all,
    done,
  };
}
