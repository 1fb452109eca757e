/**
 * `bench:serve`'s crowd of clients, run inside the clients' namespace:
 * registers `--count` fresh public keys through the API, then makes each
 * key's first handshake with the server through its UDP data path, and
 * prints one JSON line of timings.
 *
 *     deno run -A bench/_serve_clients.ts --token-file F \
 *       --api https://ADDR:8443 --endpoint ADDR:51820 --count 1000 --sources A,B,…
 *
 * A client here is the wgcage core itself (one WgDevice whose private key
 * changes from client to client) over a plain UDP socket: a thousand real
 * cages would measure the machine's process start-up, not the server.
 * Requests and handshakes come from the `--sources` addresses in turn, as a
 * thousand clients come from many addresses: the API holds one address to
 * 20 requests a second (its rate limit), and the core answers a flood of
 * initiations from one address with cookie replies.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Batch, type Endpoint, WgDevice } from "../src/wg/device.ts";
import { EventKind, Op } from "../src/wg/abi.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    api: { type: "string" },
    endpoint: { type: "string" },
    count: { type: "string", default: "1000" },
    sources: { type: "string" },
    parallel: { type: "string", default: "8" },
    "token-file": { type: "string" },
  },
});
const apiUrl = args.values.api!;
const [host, port] = args.values.endpoint!.split(":");
const count = Number(args.values.count);
const sources = args.values.sources!.split(",");
const parallel = Number(args.values.parallel);
const token = Deno.readTextFileSync(args.values["token-file"]!).trim();

const dev = await WgDevice.create();
const keys: { privateKey: Uint8Array; publicKey: string }[] = [];
for (let i = 0; i < count; i++) {
  const privateKey = crypto.getRandomValues(new Uint8Array(32));
  dev.setPrivateKey(privateKey);
  keys.push({ privateKey, publicKey: new Uint8Array(dev.publicKey()).toBase64() });
}

// ---- registration through the API -------------------------------------
const clients = sources.map((localAddress) => Deno.createHttpClient({ localAddress }));
let serverKey = "";
const registered: boolean[] = [];
let failures = 0;
let next = 0;
const t0 = performance.now();
await Promise.all(Array.from({ length: parallel }, async () => {
  while (next < count) {
    const i = next++;
    const r = await fetch(`${apiUrl}/v1/clients`, {
      method: "POST",
      client: clients[i % clients.length],
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ public_key: keys[i].publicKey }),
    });
    const body = await r.json() as { server_public_key?: string; error?: string };
    if (r.status !== 201) {
      if (failures++ < 3) console.error(`register ${i}: ${r.status} ${body.error}`);
      continue;
    }
    registered[i] = true;
    serverKey = body.server_public_key!;
  }
}));
const registerS = (performance.now() - t0) / 1000;
console.error(`registered ${count - failures} in ${registerS.toFixed(2)} s`);
for (const c of clients) c.close();

// ---- first handshakes through the data path --------------------------
const serverEp: Endpoint = {
  family: 4,
  port: Number(port),
  scopeId: 0,
  address: new Uint8Array(host.split(".").map(Number)),
};
const control: Batch = dev.batch(4, 2048);
const inbound: Batch = dev.batch(1, 2048);
const sockets = sources.map((hostname) =>
  Deno.listenDatagram({ hostname, port: 0, transport: "udp" })
);
const pending = new Map<Deno.DatagramConn, Promise<[Uint8Array, Deno.Addr]>>();
const receive = (s: Deno.DatagramConn, ms: number) => {
  let p = pending.get(s);
  if (p === undefined) pending.set(s, p = s.receive());
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.then((v) => {
      pending.delete(s);
      return v;
    }),
    new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), ms)),
  ]).finally(() => clearTimeout(timer));
};
const sendAll = async (s: Deno.DatagramConn) => {
  const n = control.poll(performance.now(), Date.now());
  for (let j = 0; j < n; j++) {
    if (control.op(j) !== Op.Network) continue;
    await s.send(control.packet(j).slice(), { transport: "udp", hostname: host, port: +port });
  }
};

let cookies = 0;
let lost = 0;
const t1 = performance.now();
for (let i = 0; i < count; i++) {
  if (!registered[i]) continue;
  const s = sockets[i % sockets.length];
  dev.setPrivateKey(keys[i].privateKey);
  // The server as a fresh peer for each client: one peer kept across
  // clients would hold back each new initiation for REKEY_TIMEOUT after the
  // last, as the protocol wants of one client.
  const server = dev.addPeer({
    publicKey: Uint8Array.fromBase64(serverKey),
    keepalive: 0,
    allowedIps: [],
  });
  dev.setEndpoint(server, serverEp);
  dev.events();
  let done = false;
  for (let attempt = 0; attempt < 4 && !done; attempt++) {
    dev.initiate(server, performance.now(), Date.now());
    await sendAll(s);
    const got = await receive(s, 5000);
    if (got === undefined) {
      lost++;
      continue;
    }
    // A cookie reply (type 3): the server is under load; the next
    // initiation carries the cookie (a real client sends it at its retry).
    if (got[0][0] === 3) cookies++;
    inbound.setPacket(0, got[0], 0);
    inbound.setEndpoint(0, serverEp);
    inbound.decrypt(performance.now(), Date.now(), 1);
    done = dev.events().some((e) => e.kind === EventKind.SessionStarted);
  }
  // The keepalive that confirms the session to the server.
  if (done) await sendAll(s);
  else failures++;
  dev.removePeer(server);
  if ((i + 1) % 100 === 0) {
    console.error(
      `${i + 1} handshakes in ${((performance.now() - t1) / 1000).toFixed(2)} s ` +
        `(${cookies} cookie replies, ${lost} lost)`,
    );
  }
}
const handshakeS = (performance.now() - t1) / 1000;
for (const s of sockets) s.close();
console.log(JSON.stringify({ registerS, handshakeS, cookies, lost, failures }));
