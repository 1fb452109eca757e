/**
 * The client side of `server.ts`, run in a client namespace (or inside a
 * cage) to check the path to the server end to end:
 *
 *     deno run -A tests/services/client.ts data --host 10.99.0.1 --bytes 10485760
 *     deno run -A tests/services/client.ts tcp-echo --host fd99::1 --bytes 65536
 *     deno run -A tests/services/client.ts udp-echo --host 10.99.0.1 --count 20
 *
 * Prints one JSON line with what it measured and `"ok": true|false`; exits 0
 * when ok, 1 otherwise (2 on bad arguments).
 *
 * @module
 */

import dgram from "node:dgram";
import { parseArgs } from "node:util";
import { findPatternMismatch, patternChunk } from "./pattern.ts";

/** What a client run reports. */
export interface ClientReport {
  readonly mode: "data" | "tcp-echo" | "udp-echo";
  readonly ok: boolean;
  readonly bytes: number;
  readonly expected: number;
  readonly ms: number;
  readonly mbitPerSecond?: number;
  readonly mismatchAt?: number;
  readonly error?: string;
}

async function fetchData(host: string, port: number, bytes: number): Promise<ClientReport> {
  const start = performance.now();
  const conn = await Deno.connect({ hostname: host, port, transport: "tcp" });
  let received = 0;
  let mismatchAt: number | undefined;
  try {
    await conn.write(new TextEncoder().encode(`GET ${bytes}\n`));
    const buf = new Uint8Array(256 * 1024);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      if (mismatchAt === undefined) {
        const bad = findPatternMismatch(buf.subarray(0, n), received);
        if (bad >= 0) mismatchAt = received + bad;
      }
      received += n;
    }
  } finally {
    conn.close();
  }
  const ms = performance.now() - start;
  return {
    mode: "data",
    ok: received === bytes && mismatchAt === undefined,
    bytes: received,
    expected: bytes,
    ms: Math.round(ms),
    mbitPerSecond: Math.round((received * 8) / (ms * 1000) * 10) / 10,
    ...(mismatchAt === undefined ? {} : { mismatchAt }),
  };
}

async function tcpEcho(host: string, port: number, bytes: number): Promise<ClientReport> {
  const start = performance.now();
  const conn = await Deno.connect({ hostname: host, port, transport: "tcp" });
  const payload = patternChunk(bytes).subarray(0, bytes);
  const echoed = new Uint8Array(bytes);
  let received = 0;
  try {
    const writing = (async () => {
      let at = 0;
      while (at < payload.length) at += await conn.write(payload.subarray(at));
      await conn.closeWrite();
    })();
    for (;;) {
      const n = await conn.read(echoed.subarray(Math.min(received, bytes)));
      if (n === null || received + n > bytes) break;
      received += n;
      if (received === bytes) break;
    }
    await writing;
  } finally {
    conn.close();
  }
  const mismatch = findPatternMismatch(echoed.subarray(0, received), 0);
  return {
    mode: "tcp-echo",
    ok: received === bytes && mismatch < 0,
    bytes: received,
    expected: bytes,
    ms: Math.round(performance.now() - start),
    ...(mismatch < 0 ? {} : { mismatchAt: mismatch }),
  };
}

async function udpEcho(host: string, port: number, count: number): Promise<ClientReport> {
  const start = performance.now();
  const socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  const seen = new Set<number>();
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.on("message", (msg) => {
        const text = new TextDecoder().decode(new Uint8Array(msg));
        const m = /^echo (\d+)$/.exec(text);
        if (m) seen.add(Number(m[1]));
        if (seen.size === count) resolve();
      });
      socket.connect(port, host, () => {
        // Resend the missing datagrams until all came back or time runs out.
        const send = () => {
          for (let i = 0; i < count; i++) {
            if (!seen.has(i)) socket.send(new TextEncoder().encode(`echo ${i}`));
          }
        };
        send();
        const timer = setInterval(send, 200);
        const limit = setTimeout(() => resolve(), 5_000);
        socket.once("close", () => {
          clearInterval(timer);
          clearTimeout(limit);
        });
      });
    });
  } finally {
    socket.close();
  }
  return {
    mode: "udp-echo",
    ok: seen.size === count,
    bytes: seen.size,
    expected: count,
    ms: Math.round(performance.now() - start),
  };
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      bytes: { type: "string", default: "1048576" },
      count: { type: "string", default: "10" },
    },
    strict: true,
  });
  const mode = positionals[0];
  const host = values.host;
  if (host === undefined || !["data", "tcp-echo", "udp-echo"].includes(mode ?? "")) {
    console.error("client: usage: client.ts data|tcp-echo|udp-echo --host ADDRESS [--port N]");
    return 2;
  }
  const defaultPort = { data: 8080, "tcp-echo": 8081, "udp-echo": 8082 }[
    mode as ClientReport["mode"]
  ];
  const port = Number(values.port ?? defaultPort);
  let report: ClientReport;
  try {
    report = mode === "data"
      ? await fetchData(host, port, Number(values.bytes))
      : mode === "tcp-echo"
      ? await tcpEcho(host, port, Number(values.bytes))
      : await udpEcho(host, port, Number(values.count));
  } catch (e) {
    report = {
      mode: mode as ClientReport["mode"],
      ok: false,
      bytes: 0,
      expected: 0,
      ms: 0,
      error: e instanceof Error ? e.message : String(e),
    };
  }
  console.log(JSON.stringify(report));
  return report.ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
