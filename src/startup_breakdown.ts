/**
 * Where a run's start-up goes, for `-v`: each phase from its start to its
 * end, in ms from the moment the process started, so that a slow start is
 * measured rather than guessed (bench/startup.ts takes the medians).
 *
 * This module is the first one wgcage.ts imports: its first line is the first
 * of wgcage's code that runs, from the bundle as from the modules. Marking
 * costs a `performance.now()`; only `-v` reads the clocks of the kernel (one
 * small libc binding, after the command has started).
 *
 * Phases overlap where the run overlaps them: the core compiles on V8's
 * threads while the config is read, and the handshake's round trip runs
 * while the cage is made. An end is when wgcage saw it (a promise's
 * resolution waits for the event loop).
 *
 * @module
 */

/** performance.now() at the first line of wgcage's code. */
const FIRST_LINE = performance.now();

/** The phases `-v` prints, each once, in this order. */
export const PHASES = [
  "Deno start",
  "module load",
  "launcher and arguments",
  "config read",
  "core compile",
  "core instance and self test",
  "keys, peers and UDP socket",
  "clone and namespaces",
  "TUN and netlink",
  "data path start",
  "first handshake",
  "the command's exec",
] as const;

export type Phase = typeof PHASES[number];

const begun = new Map<Phase, number>();
const ended = new Map<Phase, number>();
begun.set("module load", FIRST_LINE);

/** Notes that `phase` begins now (the first call counts). */
export function phaseBegins(phase: Phase): void {
  if (!begun.has(phase)) begun.set(phase, performance.now());
}

/** Notes that `phase` ended now (the first call after its beginning counts). */
export function phaseEnds(phase: Phase): void {
  if (begun.has(phase) && !ended.has(phase)) ended.set(phase, performance.now());
}

/** `main()` was entered: the modules are loaded and evaluated. */
export function programStarts(): void {
  phaseEnds("module load");
  phaseBegins("launcher and arguments");
}

/**
 * The kernel counts a process's start in clock ticks of 10 ms (USER_HZ is
 * 100 on every Linux that Deno runs on): the start is taken as the middle of
 * its tick, so it is right to ±5 ms.
 */
const TICK_MS = 10;

/** Field 22 of /proc/self/stat: when the process began, in ticks since boot. */
export function startTicks(stat: string): number {
  // The command name (field 2) may hold spaces and parentheses: fields after
  // its last ')' are 3, 4, …
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(rest[22 - 3]);
  if (!Number.isSafeInteger(ticks) || ticks < 0) throw new Error("no start time in the stat");
  return ticks;
}

const CLOCK_BOOTTIME = 7;

/** CLOCK_BOOTTIME (the clock of /proc/self/stat's start time) in ms. */
function boottimeMs(): number {
  const lib = Deno.dlopen("libc.so.6", {
    clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  });
  try {
    const ts = new BigInt64Array(2);
    if (lib.symbols.clock_gettime(CLOCK_BOOTTIME, ts) !== 0) throw new Error("clock_gettime");
    return Number(ts[0]) * 1000 + Number(ts[1]) / 1e6;
  } finally {
    lib.close();
  }
}

/** When the process started, on the performance.now() clock; undefined if unknown. */
function processStart(): number | undefined {
  try {
    const ticks = startTicks(Deno.readTextFileSync("/proc/self/stat"));
    const boot = boottimeMs();
    const now = performance.now();
    return now - (boot - (ticks + 0.5) * TICK_MS);
  } catch {
    return undefined;
  }
}

/** A duration or an offset in ms, one decimal. */
function ms(x: number): string {
  return x.toFixed(1);
}

/**
 * The lines of the breakdown, one for each phase of {@linkcode PHASES} in
 * order: `start-up: PHASE: D ms (A–B)`, with A and B in ms from the process's
 * start; a phase this run did not go through says so. Then the total to now.
 */
export function breakdownLines(): string[] {
  const now = performance.now();
  const start = processStart();
  const zero = start ?? 0;
  const lines: string[] = [];
  for (const phase of PHASES) {
    let from = begun.get(phase);
    let to = ended.get(phase);
    let note = "";
    if (phase === "Deno start") {
      if (start === undefined) {
        lines.push("start-up: Deno start: unknown (cannot read /proc/self/stat or the clock)");
        continue;
      }
      from = start;
      to = FIRST_LINE;
      note = ", ±5 ms: the kernel counts a process's start in 10 ms ticks";
    }
    if (from === undefined || to === undefined) {
      lines.push(`start-up: ${phase}: not in this run`);
      continue;
    }
    lines.push(
      `start-up: ${phase}: ${ms(to - from)} ms (${ms(from - zero)}–${ms(to - zero)}${note})`,
    );
  }
  lines.push(
    `start-up: total: ${ms(now - zero)} ms to now` +
      (start === undefined ? " (from the first line of wgcage's code)" : ""),
  );
  return lines;
}
