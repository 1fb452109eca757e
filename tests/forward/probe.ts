/**
 * Small network programs for the forwarding tests, run on the host side (in
 * the test's namespace) or inside the cage as the command:
 *
 *     deno run -A probe.ts servers --tcp P --reset P --udp P [--fetch ADDR:PORT]
 *         in the cage: on 127.0.0.1, a TCP service that answers once the client
 *         has shut its side (`got N HEX`), one that resets every connection
 *         (Python's, as Deno cannot close with SO_LINGER 0: its close sends a
 *         FIN first), and a UDP echo; with --fetch, 64 KiB from the peer's
 *         data service through the tunnel first. Prints `ready` when all listen.
 *     deno run -A probe.ts serve ADDR:PORT TEXT      answer TEXT to each connection
 *     deno run -A probe.ts line ADDR:PORT            connect, read to the end
 *     deno run -A probe.ts halfclose ADDR:PORT N     send N bytes, shut, read the answer
 *     deno run -A probe.ts reset ADDR:PORT           send, expect a reset
 *     deno run -A probe.ts udp ADDR:PORT TEXT        send a datagram, wait for one back
 *     deno run -A probe.ts udp-stream ADDR:PORT      a datagram every 100 ms until killed;
 *                                                    prints `pid N` once, `echo SEQ` per answer
 *
 * Each client prints one JSON line: `{"ok":true,…}` or `{"ok":false,"error":…}`.
 * Clients retry a refused or reset connection for up to --wait-ms (default 0).
 *
 * @module
 */

import dgram from "node:dgram";

function hostPort(text: string): { hostname: string; port: number } {
  const at = text.lastIndexOf(":");
  return { hostname: text.slice(0, at).replace(/^\[|\]$/g, ""), port: Number(text.slice(at + 1)) };
}

async function readAll(conn: Deno.Conn): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

async function hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The n bytes a half-close client sends: a pattern both sides can check. */
export function payload(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + (i >> 8)) & 0xff;
  return out;
}

function errorName(e: unknown): string {
  return e instanceof Error ? e.name : String(e);
}

async function withRetry<T>(waitMs: number, attempt: () => Promise<T>): Promise<T> {
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      return await attempt();
    } catch (e) {
      const retriable = e instanceof Deno.errors.ConnectionRefused ||
        e instanceof Deno.errors.ConnectionReset;
      if (!retriable || Date.now() >= until) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Accepts, reads a little, and closes with SO_LINGER 0: a reset. */
const RESET_SERVER = `
import socket, struct, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.recv(1)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
`;

async function servers(args: string[]): Promise<void> {
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const fetch = opt("--fetch");
  if (fetch) {
    const conn = await Deno.connect(hostPort(fetch));
    await conn.write(new TextEncoder().encode("GET 65536\n"));
    const got = await readAll(conn);
    conn.close();
    console.log(`fetched ${got.length}`);
  }
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: Number(opt("--tcp")) });
  const reset = new Deno.Command("/usr/bin/python3", {
    args: ["-c", RESET_SERVER, opt("--reset") ?? "0"],
    stdout: "piped",
  }).spawn();
  const resetReady = reset.stdout.pipeThrough(new TextDecoderStream()).getReader().read();
  if (!(await resetReady).value?.includes("ready")) {
    throw new Error("the reset server did not start");
  }
  const udp = dgram.createSocket("udp4");
  udp.on("message", (msg, from) => udp.send(msg, from.port, from.address));
  await new Promise<void>((r) => udp.bind(Number(opt("--udp")), "127.0.0.1", r));
  console.log("ready");
  for await (const conn of tcp) {
    (async () => {
      try {
        const got = await readAll(conn);
        await conn.write(new TextEncoder().encode(`got ${got.length} ${await hex(got)}`));
      } finally {
        conn.close();
      }
    })();
  }
}

async function serve(where: string, text: string): Promise<void> {
  const listener = Deno.listen(hostPort(where));
  console.log("ready");
  for await (const conn of listener) {
    conn.write(new TextEncoder().encode(text)).finally(() => conn.close());
  }
}

async function client(mode: string, where: string, extra: string, waitMs: number): Promise<void> {
  try {
    const result = await withRetry(waitMs, async () => {
      switch (mode) {
        case "line": {
          const conn = await Deno.connect(hostPort(where)).catch((e) => {
            // A reset that lands between connect() and Deno's getpeername()
            // surfaces as ENOTCONN: the connection was reset all the same.
            if (e instanceof Deno.errors.NotConnected) {
              throw new Deno.errors.ConnectionReset(`reset at once (${e.message})`);
            }
            throw e;
          });
          const text = new TextDecoder().decode(await readAll(conn));
          conn.close();
          if (text === "") throw new Deno.errors.ConnectionReset("closed without a word");
          return { text };
        }
        case "halfclose": {
          const conn = await Deno.connect(hostPort(where));
          const data = payload(Number(extra));
          await conn.write(data);
          await conn.closeWrite();
          const text = new TextDecoder().decode(await readAll(conn));
          conn.close();
          if (text === "") throw new Deno.errors.ConnectionReset("closed without a word");
          return { text, expected: `got ${data.length} ${await hex(data)}` };
        }
        case "reset": {
          const conn = await Deno.connect(hostPort(where));
          try {
            await conn.write(payload(65536)).catch(() => 0);
            const got = await readAll(conn);
            return { error: `the connection ended with a FIN after ${got.length} bytes` };
          } catch (e) {
            if (e instanceof Deno.errors.ConnectionReset) return { reset: true };
            throw e;
          } finally {
            try {
              conn.close();
            } catch {
              // closed already
            }
          }
        }
        default:
          throw new Error(`unknown mode ${mode}`);
      }
    });
    console.log(JSON.stringify({ ok: !("error" in result), ...result }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, error: errorName(e) }));
  }
}

async function udpClient(where: string, text: string, waitMs: number): Promise<void> {
  const { hostname, port } = hostPort(where);
  const sock = dgram.createSocket(hostname.includes(":") ? "udp6" : "udp4");
  const until = Date.now() + Math.max(waitMs, 2000);
  const reply = await new Promise<string | undefined>((resolve) => {
    sock.on("message", (msg) => resolve(new TextDecoder().decode(msg)));
    sock.on("error", () => {});
    const send = () => {
      if (Date.now() > until) return resolve(undefined);
      sock.send(text, port, hostname);
      setTimeout(send, 200);
    };
    send();
  });
  sock.close();
  console.log(
    JSON.stringify(
      reply === undefined ? { ok: false, error: "timeout" } : { ok: true, text: reply },
    ),
  );
}

/** A datagram every 100 ms; one line per answer, so gaps show when the path broke. */
function udpStream(where: string): Promise<never> {
  const { hostname, port } = hostPort(where);
  const sock = dgram.createSocket(hostname.includes(":") ? "udp6" : "udp4");
  console.log(`pid ${Deno.pid}`);
  sock.on("message", (msg) => console.log(`echo ${new TextDecoder().decode(msg)}`));
  sock.on("error", () => {});
  let seq = 0;
  setInterval(() => sock.send(String(seq++), port, hostname), 100);
  return new Promise(() => {});
}

if (import.meta.main) {
  const [mode, ...rest] = Deno.args;
  const waitAt = rest.indexOf("--wait-ms");
  const waitMs = waitAt >= 0 ? Number(rest.splice(waitAt, 2)[1]) : 0;
  if (mode === "servers") await servers(rest);
  else if (mode === "serve") await serve(rest[0], rest[1]);
  else if (mode === "udp") await udpClient(rest[0], rest[1], waitMs);
  else if (mode === "udp-stream") await udpStream(rest[0]);
  else await client(mode, rest[0], rest[1] ?? "", waitMs);
  Deno.exit(0);
}
