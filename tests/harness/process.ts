/**
 * Running commands for the test harness: `run` for short commands whose
 * output we need, `NsProcess` for long-lived ones (peers, services, captures)
 * whose stdout lines we watch and which we stop on cleanup.
 *
 * Every command may run inside a network namespace (`ip netns exec NS …`);
 * `ip netns exec` execs the command itself, so the pid we keep is the pid of
 * the command, not of a wrapper.
 *
 * @module
 */

/** What a finished command printed and how it ended. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for {@link run}. */
export interface RunOptions {
  /** Network namespace to run in; the current one when absent. */
  readonly ns?: string;
  /** Text written to the command's stdin. */
  readonly stdin?: string;
  /** Return a non-zero exit instead of throwing. */
  readonly allowFailure?: boolean;
  /** Kill the command after this long (default 30 s). */
  readonly timeoutMs?: number;
}

/** Prefixes `argv` with `ip netns exec NS` when a namespace is given. */
export function inNamespace(ns: string | undefined, argv: readonly string[]): string[] {
  return ns === undefined ? [...argv] : ["ip", "netns", "exec", ns, ...argv];
}

/**
 * Runs a command to completion and returns its output. Throws with the
 * command line, exit status and stderr when it fails (unless `allowFailure`).
 *
 * @example In a namespace a test made (not run by `deno test --doc`: it needs one)
 * ```ts ignore
 * const { stdout } = await run(["ip", "-j", "link"], { ns: "wgc-1-1-a" });
 * ```
 */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const full = inNamespace(options.ns, argv);
  const child = new Deno.Command(full[0], {
    args: full.slice(1),
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timeoutMs = options.timeoutMs ?? 30_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  try {
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(options.stdin));
      await writer.close();
    }
    const out = await child.output();
    const result: RunResult = {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
    if (timedOut) {
      throw new Error(
        `Command timed out after ${timeoutMs} ms: ${full.join(" ")}; stderr: ${
          result.stderr.trim().split("\n").slice(-20).join("\n")
        }`,
      );
    }
    if (result.code !== 0 && !options.allowFailure) {
      throw new Error(
        `Command failed with exit ${result.code}: ${full.join(" ")}: ${result.stderr.trim()}`,
      );
    }
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/** Options for {@link NsProcess.spawn}. */
export interface SpawnOptions {
  /** Network namespace to run in; the current one when absent. */
  readonly ns?: string;
  /** Extra environment variables. */
  readonly env?: Record<string, string>;
}

interface LineWaiter {
  readonly match: (line: string) => boolean;
  readonly resolve: (line: string) => void;
}

/**
 * A long-lived command. Its stdout is split into lines and kept; stderr is
 * kept as text. `stop()` ends it (SIGTERM, then SIGKILL after a grace period)
 * and is safe to call more than once.
 */
export class NsProcess {
  /** The command's own pid (not a wrapper's). */
  readonly pid: number;
  /** The command line, for messages. */
  readonly commandLine: string;
  /** Every complete stdout line so far. */
  readonly lines: string[] = [];
  /** Resolves once the process has exited. */
  readonly status: Promise<Deno.CommandStatus>;
  #stderr = "";
  #exited = false;
  #waiters = new Set<LineWaiter>();
  #child: Deno.ChildProcess;
  #drained: Promise<void>;

  private constructor(child: Deno.ChildProcess, commandLine: string) {
    this.#child = child;
    this.pid = child.pid;
    this.commandLine = commandLine;
    this.#drained = Promise.all([this.#readStdout(), this.#readStderr()]).then(() => {});
    this.status = child.status.then(async (status) => {
      this.#exited = true;
      await this.#drained;
      return status;
    });
  }

  /** Starts `argv`, optionally inside a namespace. */
  static spawn(argv: readonly string[], options: SpawnOptions = {}): NsProcess {
    const full = inNamespace(options.ns, argv);
    const child = new Deno.Command(full[0], {
      args: full.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: options.env,
    }).spawn();
    return new NsProcess(child, full.join(" "));
  }

  /** True once the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Everything written to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Everything written to stdout so far, as one string. */
  get stdout(): string {
    return this.lines.join("\n");
  }

  /**
   * Resolves with the first stdout line (already seen or still to come) that
   * matches (a string matches the whole line); rejects when the process exits first or after `timeoutMs`.
   */
  waitForLine(
    match: string | RegExp | ((line: string) => boolean),
    timeoutMs = 10_000,
  ): Promise<string> {
    const test = typeof match === "string"
      ? (line: string) => line === match
      : typeof match === "function"
      ? match
      : (line: string) => match.test(line);
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const waiter: LineWaiter = {
        match: test,
        resolve: (line) => {
          done();
          resolve(line);
        },
      };
      const fail = (why: string) => {
        done();
        reject(
          new Error(
            `Cannot see line ${String(match)} from ${this.commandLine}: ${why}; stderr: ${
              this.#stderr.trim().slice(-2000)
            }`,
          ),
        );
      };
      const timer = setTimeout(() => fail(`no such line after ${timeoutMs} ms`), timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      this.#waiters.add(waiter);
      this.status.then((s) => {
        if (this.#waiters.has(waiter)) fail(`process exited with code ${s.code}`);
      });
    });
  }

  /** Sends a signal if the process is still running. */
  signal(signal: Deno.Signal): void {
    if (this.#exited) return;
    try {
      this.#child.kill(signal);
    } catch {
      // exited in between
    }
  }

  /**
   * Ends the process: `signal` (SIGTERM by default), then SIGKILL if it is
   * still alive after `graceMs`. Resolves when it has exited.
   */
  async stop(signal: Deno.Signal = "SIGTERM", graceMs = 3_000): Promise<Deno.CommandStatus> {
    this.signal(signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.signal("SIGKILL");
        resolve();
      }, graceMs);
    });
    await Promise.race([this.status, killed]);
    clearTimeout(timer);
    return await this.status;
  }

  async #readStdout(): Promise<void> {
    let pending = "";
    const decoder = new TextDecoder();
    for await (const chunk of this.#child.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        this.#addLine(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf("\n");
      }
    }
    pending += decoder.decode();
    if (pending.length > 0) this.#addLine(pending);
  }

  #addLine(line: string): void {
    this.lines.push(line);
    for (const waiter of [...this.#waiters]) {
      if (waiter.match(line)) waiter.resolve(line);
    }
  }

  async #readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.#child.stderr) {
      this.#stderr += decoder.decode(chunk, { stream: true });
    }
    this.#stderr += decoder.decode();
  }
}

/** True when a process with this pid exists. */
export function pidAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every `intervalMs` until it returns true; throws `what` on timeout. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms: ${what}`);
    await sleep(intervalMs);
  }
}
