/**
 * wgcage as a long-lived process in a test namespace, as root or rootless
 * (uid 65534 with a private 0666 TUN node), and the probe program of
 * `probe.ts` for either side.
 *
 * @module
 */

import type { Lab, Namespace } from "../harness/netns.ts";
import type { NsProcess, RunResult } from "../harness/process.ts";
import { nobodyDenoDir, privateTunNode, rootlessArgv, wgcageArgv } from "../e2e/wgcage.ts";

/** Absolute path of probe.ts. */
export const PROBE = new URL("./probe.ts", import.meta.url).pathname;

/** The argv of a probe run (on the host side, or as the cage's command). */
export function probeArgv(...args: string[]): string[] {
  return [Deno.execPath(), "run", "-A", "--quiet", PROBE, ...args];
}

/** What a probe client printed. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly text?: string;
  readonly expected?: string;
  readonly reset?: boolean;
  readonly error?: string;
}

/** The JSON line of a probe client's run. */
export function probeResult(r: RunResult): ProbeResult {
  const line = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  if (line === undefined) throw new Error(`the probe printed no result: ${r.stdout} ${r.stderr}`);
  return JSON.parse(line) as ProbeResult;
}

/** Starts wgcage with `args` in `ns`; rootless as uid 65534. The lab stops it. */
export async function spawnWgcage(
  lab: Lab,
  ns: Namespace,
  args: readonly string[],
  rootless: boolean,
): Promise<NsProcess> {
  let argv = wgcageArgv(args);
  if (rootless) {
    const tunDir = await privateTunNode(lab, 0o666);
    const denoDir = await nobodyDenoDir(lab);
    argv = rootlessArgv(tunDir, { DENO_DIR: denoDir, HOME: "/tmp" }, argv);
  }
  return ns.spawn(argv);
}
