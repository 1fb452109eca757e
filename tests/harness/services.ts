/**
 * Starting `tests/services/server.ts` in a namespace and running
 * `tests/services/client.ts` against it.
 *
 * @module
 */

import type { ClientReport } from "../services/client.ts";
import type { Namespace } from "./netns.ts";
import type { NsProcess, RunResult } from "./process.ts";

/** Absolute path of the services server script. */
export const SERVER_SCRIPT = new URL("../services/server.ts", import.meta.url).pathname;
/** Absolute path of the services client script. */
export const CLIENT_SCRIPT = new URL("../services/client.ts", import.meta.url).pathname;

/** Options for {@link startServices}. */
export interface ServicesOptions {
  /** Addresses to serve on (the peer's tunnel addresses). */
  readonly binds: readonly string[];
  /** `name=address` entries for the DNS responder. */
  readonly dnsNames?: readonly string[];
  readonly dataPort?: number;
  readonly echoPort?: number;
  readonly udpEchoPort?: number;
  readonly dnsPort?: number;
}

/** One DNS query as the responder logged it. */
export interface DnsQueryLog {
  readonly event: "dns";
  readonly transport: "udp" | "tcp";
  readonly from: string;
  readonly name: string | null;
  readonly type: string | null;
  readonly rcode: string;
  readonly answers: number;
}

/** One data request as the server logged it. */
export interface DataRequestLog {
  readonly event: "data";
  readonly from: string;
  readonly bytes?: number;
  readonly error?: string;
}

/** A running services server. */
export class Services {
  readonly process: NsProcess;

  constructor(process: NsProcess) {
    this.process = process;
  }

  /** Every DNS query that arrived so far, in order. */
  dnsQueries(): DnsQueryLog[] {
    return this.#events().filter((e): e is DnsQueryLog => e.event === "dns");
  }

  /** Every data request that ended so far: who asked and how many bytes were sent. */
  dataRequests(): DataRequestLog[] {
    return this.#events().filter((e): e is DataRequestLog => e.event === "data");
  }

  /**
   * Waits until the server logged a DNS query for which `match` is true
   * (log lines are read asynchronously: a client may finish first).
   */
  async waitForDnsQuery(
    match: (q: DnsQueryLog) => boolean,
    timeoutMs = 5_000,
  ): Promise<DnsQueryLog> {
    const line = await this.process.waitForLine((l) => {
      const e = parseEvent(l);
      return e?.event === "dns" && match(e);
    }, timeoutMs);
    return parseEvent(line) as DnsQueryLog;
  }

  /** Waits until the server logged a data request for which `match` is true. */
  async waitForDataRequest(
    match: (r: DataRequestLog) => boolean,
    timeoutMs = 5_000,
  ): Promise<DataRequestLog> {
    const line = await this.process.waitForLine((l) => {
      const e = parseEvent(l);
      return e?.event === "data" && match(e);
    }, timeoutMs);
    return parseEvent(line) as DataRequestLog;
  }

  #events(): (DnsQueryLog | DataRequestLog)[] {
    return this.process.lines.map(parseEvent).filter((e) => e !== undefined);
  }
}

function parseEvent(line: string): DnsQueryLog | DataRequestLog | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    return JSON.parse(line) as DnsQueryLog | DataRequestLog;
  } catch {
    return undefined;
  }
}

/** Starts server.ts in `ns` and waits for its `ready` line. The lab stops it on close. */
export async function startServices(ns: Namespace, options: ServicesOptions): Promise<Services> {
  const argv = [Deno.execPath(), "run", "-A", "--quiet", SERVER_SCRIPT];
  for (const bind of options.binds) argv.push("--bind", bind);
  for (const entry of options.dnsNames ?? []) argv.push("--dns-name", entry);
  if (options.dataPort !== undefined) argv.push("--data-port", String(options.dataPort));
  if (options.echoPort !== undefined) argv.push("--echo-port", String(options.echoPort));
  if (options.udpEchoPort !== undefined) {
    argv.push("--udp-echo-port", String(options.udpEchoPort));
  }
  if (options.dnsPort !== undefined) argv.push("--dns-port", String(options.dnsPort));
  const process = ns.spawn(argv);
  await process.waitForLine("ready", 20_000);
  return new Services(process);
}

/** The argv that runs client.ts (to run it in a namespace, or inside a cage). */
export function clientArgv(
  mode: ClientReport["mode"],
  host: string,
  options: { port?: number; bytes?: number; count?: number } = {},
): string[] {
  const argv = [Deno.execPath(), "run", "-A", "--quiet", CLIENT_SCRIPT, mode, "--host", host];
  if (options.port !== undefined) argv.push("--port", String(options.port));
  if (options.bytes !== undefined) argv.push("--bytes", String(options.bytes));
  if (options.count !== undefined) argv.push("--count", String(options.count));
  return argv;
}

/** Parses client.ts's output; throws with its stderr when there is no report. */
export function parseClientReport(result: RunResult): ClientReport {
  const line = result.stdout.trim().split("\n").pop() ?? "";
  if (!line.startsWith("{")) {
    throw new Error(`client.ts printed no report (exit ${result.code}): ${result.stderr.trim()}`);
  }
  return JSON.parse(line) as ClientReport;
}

/** Runs client.ts in `ns` and returns its report (ok or not). */
export async function runClient(
  ns: Namespace,
  mode: ClientReport["mode"],
  host: string,
  options: { port?: number; bytes?: number; count?: number; timeoutMs?: number } = {},
): Promise<ClientReport> {
  const result = await ns.run(clientArgv(mode, host, options), {
    allowFailure: true,
    timeoutMs: options.timeoutMs ?? 60_000,
  });
  return parseClientReport(result);
}
