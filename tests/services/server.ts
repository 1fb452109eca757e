/**
 * Test services, run inside a peer's namespace on its tunnel addresses:
 *
 *     ip netns exec NS deno run -A tests/services/server.ts \
 *       --bind 10.99.0.1 --bind fd99::1 --dns-name peer.wgcage.test=10.99.0.1
 *
 * - TCP data (default 8080): the client sends `GET <n>\n` and receives n
 *   bytes of the pattern in `pattern.ts`, then the server closes.
 * - TCP echo (8081): echoes everything until the client closes.
 * - UDP echo (8082): sends every datagram back to its sender.
 * - DNS (53, UDP and TCP): A/AAAA from the `--dns-name name=address` table,
 *   NXDOMAIN for other names, NOTIMP for other opcodes.
 *
 * Prints `ready` once every listener is bound, then one JSON line per DNS
 * query (`{"event":"dns",…}`) and per data request (`{"event":"data",…}`).
 * Runs until killed.
 *
 * @module
 */

import dgram from "node:dgram";
import { parseArgs } from "node:util";
import {
  buildResponse,
  buildTable,
  type DnsRecords,
  lookup,
  parseQuery,
  Rcode,
  rcodeName,
  recordTypeName,
} from "./dns_message.ts";
import { patternChunk } from "./pattern.ts";

/** Largest response the data service sends (1 GiB). */
const MAX_DATA_BYTES = 1 << 30;

const CHUNK = patternChunk(64 * 1024);

interface ServerOptions {
  readonly binds: string[];
  readonly dataPort: number;
  readonly echoPort: number;
  readonly udpEchoPort: number;
  readonly dnsPort: number;
  readonly dnsTtl: number;
  readonly table: Map<string, DnsRecords>;
}

function parseOptions(argv: string[]): ServerOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      bind: { type: "string", multiple: true },
      "data-port": { type: "string", default: "8080" },
      "echo-port": { type: "string", default: "8081" },
      "udp-echo-port": { type: "string", default: "8082" },
      "dns-port": { type: "string", default: "53" },
      "dns-ttl": { type: "string", default: "60" },
      "dns-name": { type: "string", multiple: true },
    },
    strict: true,
  });
  const port = (name: string, text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      throw new RangeError(`Cannot use --${name} ${text}: not a port number`);
    }
    return n;
  };
  const binds = values.bind ?? [];
  if (binds.length === 0) throw new RangeError("Cannot serve: give at least one --bind ADDRESS");
  return {
    binds,
    dataPort: port("data-port", values["data-port"]),
    echoPort: port("echo-port", values["echo-port"]),
    udpEchoPort: port("udp-echo-port", values["udp-echo-port"]),
    dnsPort: port("dns-port", values["dns-port"]),
    dnsTtl: port("dns-ttl", values["dns-ttl"]),
    table: buildTable(values["dns-name"] ?? []),
  };
}

function log(event: Record<string, unknown>): void {
  console.log(JSON.stringify(event));
}

function peerOf(conn: Deno.Conn): string {
  const addr = conn.remoteAddr as Deno.NetAddr;
  return addr.hostname;
}

async function readRequestLine(conn: Deno.Conn): Promise<string | undefined> {
  const buf = new Uint8Array(128);
  let have = 0;
  while (have < buf.length) {
    const n = await conn.read(buf.subarray(have));
    if (n === null) return undefined;
    have += n;
    const newline = buf.subarray(0, have).indexOf(0x0a);
    if (newline >= 0) return new TextDecoder().decode(buf.subarray(0, newline)).trim();
  }
  return undefined;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

async function serveData(conn: Deno.Conn): Promise<void> {
  try {
    const line = await readRequestLine(conn);
    const m = line === undefined ? null : /^GET (\d+)$/.exec(line);
    if (!m || Number(m[1]) > MAX_DATA_BYTES) {
      log({ event: "data", from: peerOf(conn), error: `bad request ${JSON.stringify(line)}` });
      return;
    }
    const total = Number(m[1]);
    let sent = 0;
    while (sent < total) {
      const n = Math.min(CHUNK.length, total - sent);
      await writeAll(conn, CHUNK.subarray(0, n));
      sent += n;
    }
    log({ event: "data", from: peerOf(conn), bytes: total });
  } catch (e) {
    log({ event: "data", from: peerOf(conn), error: String(e) });
  } finally {
    try {
      conn.close();
    } catch {
      // closed already
    }
  }
}

async function serveEcho(conn: Deno.Conn): Promise<void> {
  try {
    await conn.readable.pipeTo(conn.writable);
  } catch {
    // the client went away
  }
}

function answerDns(
  options: ServerOptions,
  message: Uint8Array,
  from: string,
  transport: "udp" | "tcp",
): Uint8Array | undefined {
  let query;
  try {
    query = parseQuery(message);
  } catch (e) {
    log({ event: "dns", transport, from, error: String(e) });
    return undefined;
  }
  const question = query.questions[0];
  let rcode: number = Rcode.NoError;
  let addresses: Uint8Array[] = [];
  if (query.opcode !== 0) rcode = Rcode.NotImp;
  else if (question === undefined) rcode = Rcode.FormErr;
  else ({ rcode, addresses } = lookup(options.table, question));
  log({
    event: "dns",
    transport,
    from,
    name: question?.name ?? null,
    type: question ? recordTypeName(question.type) : null,
    rcode: rcodeName(rcode),
    answers: addresses.length,
  });
  return buildResponse(query, rcode, addresses, options.dnsTtl);
}

async function serveDnsTcp(options: ServerOptions, conn: Deno.Conn): Promise<void> {
  const from = peerOf(conn);
  try {
    for (;;) {
      const lengthBytes = new Uint8Array(2);
      if (!(await readExactly(conn, lengthBytes))) return;
      const message = new Uint8Array((lengthBytes[0] << 8) | lengthBytes[1]);
      if (!(await readExactly(conn, message))) return;
      const response = answerDns(options, message, from, "tcp");
      if (response === undefined) return;
      const framed = new Uint8Array(2 + response.length);
      framed[0] = response.length >> 8;
      framed[1] = response.length & 0xff;
      framed.set(response, 2);
      await writeAll(conn, framed);
    }
  } catch {
    // the client went away
  } finally {
    try {
      conn.close();
    } catch {
      // closed already
    }
  }
}

async function readExactly(conn: Deno.Conn, into: Uint8Array): Promise<boolean> {
  let have = 0;
  while (have < into.length) {
    const n = await conn.read(into.subarray(have));
    if (n === null) return false;
    have += n;
  }
  return true;
}

async function acceptLoop(listener: Deno.Listener, handle: (c: Deno.Conn) => Promise<void>) {
  for await (const conn of listener) handle(conn);
}

function bindUdp(
  address: string,
  port: number,
  onMessage: (socket: dgram.Socket, msg: Uint8Array, rinfo: dgram.RemoteInfo) => void,
): Promise<dgram.Socket> {
  const socket = dgram.createSocket(address.includes(":") ? "udp6" : "udp4");
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.on("message", (msg, rinfo) => onMessage(socket, new Uint8Array(msg), rinfo));
    socket.bind(port, address, () => {
      socket.off("error", reject);
      resolve(socket);
    });
  });
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const loops: Promise<void>[] = [];
  for (const hostname of options.binds) {
    const tcp = (port: number) => Deno.listen({ hostname, port, transport: "tcp" });
    loops.push(acceptLoop(tcp(options.dataPort), serveData));
    loops.push(acceptLoop(tcp(options.echoPort), serveEcho));
    loops.push(acceptLoop(tcp(options.dnsPort), (c) => serveDnsTcp(options, c)));
    await bindUdp(hostname, options.udpEchoPort, (socket, msg, rinfo) => {
      socket.send(msg, rinfo.port, rinfo.address);
    });
    await bindUdp(hostname, options.dnsPort, (socket, msg, rinfo) => {
      const response = answerDns(options, msg, rinfo.address, "udp");
      if (response) socket.send(response, rinfo.port, rinfo.address);
    });
  }
  console.log("ready");
  await Promise.all(loops);
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`server: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
