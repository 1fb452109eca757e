/**
 * The relay of `-p` sizes its connection cap from the open-file limit: with
 * `prlimit --nofile` low, a flood of host clients gets as many connections
 * as fit beside the tunnel's own descriptors, the rest are reset at once
 * (and `-v` says the limit turned them away), and the tunnel keeps working
 * while the flood holds its connections.
 *
 * ```
 *   wgc-…-fdlim (one namespace)
 *   wireguard-go 10.99.0.1/24 ── UDP on 127.0.0.1:51820 ── wgcage -p 17100:7100
 *   python3 on 10.99.0.1:9100 ("tunnel-ok")                 └─ cage: python3 on 127.0.0.1:7100
 *   python3 client: 40 connections to 127.0.0.1:17100
 * ```
 *
 * As root. Needs root, wireguard-go, python3 and prlimit (util-linux).
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { loopbackPeer, wgcageArgv } from "./e2e/wgcage.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** wgcage's soft and hard limit for the run. */
const NOFILE = 160;
/** As launcher/forward.c: the descriptors kept for the tunnel, and per connection. */
const FDS_RESERVED = 64;
const FDS_PER_CONN = 6;
/** More than can fit under NOFILE. */
const CLIENTS = 40;

/** Answers "tunnel-ok" to each connection: reached only through the tunnel. */
const TUNNEL_SERVICE = `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.99.0.1", 9100)); s.listen(16); print("ready", flush=True)
while True:
    c, _ = s.accept(); c.sendall(b"tunnel-ok\\n"); c.close()
`;

/**
 * The cage's command: greets and holds every connection to 7100; once the
 * file $1 exists, fetches "tunnel-ok" through the tunnel and ends.
 */
const CAGE_COMMAND = `
import os, select, socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 7100)); s.listen(256); s.setblocking(False)
print("listening", flush=True)
held = []
while not os.path.exists(sys.argv[1]):
    if select.select([s], [], [], 0.1)[0]:
        try:
            c, _ = s.accept(); c.sendall(b"hi\\n"); held.append(c)
        except BlockingIOError:
            pass
t = socket.create_connection(("10.99.0.1", 9100), timeout=10)
print("tunnel says", t.recv(64).decode().strip(), "while holding", len(held), flush=True)
`;

/** Opens CLIENTS connections at once, reports which were greeted, holds them until stdin ends. */
const FLOOD = `
import json, socket, sys
conns = []
greeted = refused = 0
for _ in range(${CLIENTS}):
    try:
        conns.append(socket.create_connection(("127.0.0.1", 17100), timeout=10))
    except ConnectionResetError:  # reset before connect() returned (loopback is quick)
        refused += 1
for c in conns:
    try:
        greeted += c.recv(16) == b"hi\\n"
    except (ConnectionResetError, socket.timeout):
        refused += 1
print(json.dumps({"greeted": greeted, "refused": refused}), flush=True)
sys.stdin.read()
`;

Deno.test(`-p under 'prlimit --nofile=${NOFILE}': connections beyond what fits are reset, -v says why, the tunnel keeps working`, async () => {
  requireRoot("The forwarding fd limit test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("/usr/bin/python3", "python3");
  await requireTool("prlimit", "util-linux");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("fdlim");
    const { config } = await loopbackPeer(lab, ns);
    const service = ns.spawn(["python3", "-c", TUNNEL_SERVICE]);
    await service.waitForLine("ready", 10_000);
    const dir = await Deno.makeTempDir({ prefix: "wgc-fdlim-" });
    lab.defer(() => Deno.remove(dir, { recursive: true }));
    const flag = `${dir}/check-the-tunnel`;
    const wgcage = ns.spawn([
      "prlimit",
      `--nofile=${NOFILE}:${NOFILE}`,
      "--",
      ...wgcageArgv([
        "-v",
        "--config",
        config,
        "-p",
        "17100:7100",
        "--",
        "python3",
        "-c",
        CAGE_COMMAND,
        flag,
      ]),
    ]);
    await wgcage.waitForLine("listening", 30_000);

    const flood = ns.spawn(["python3", "-c", FLOOD]);
    const line = await flood.waitForLine((l) => l.startsWith("{"), 30_000);
    const { greeted, refused } = JSON.parse(line) as { greeted: number; refused: number };
    const fit = Math.floor((NOFILE - FDS_RESERVED) / FDS_PER_CONN);
    assert(greeted >= 1, `no connection got through: ${line}; ${wgcage.stderr}`);
    assert(refused >= 1 && greeted + refused === CLIENTS, `none was turned away: ${line}`);
    assert(greeted <= fit, `${greeted} got through, more than ${fit} fit: ${wgcage.stderr}`);
    for (let waited = 0; !/open-file limit/.test(wgcage.stderr); waited += 50) {
      assert(waited < 5000, `-v did not say why: ${wgcage.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const cap = /17100\S*: (\d+) at once already, as many as the open-file limit/.exec(
      wgcage.stderr,
    )?.[1];
    assert(
      cap === String(greeted),
      `-v's cap is not the ${greeted} that got through: ${wgcage.stderr}`,
    );

    // With the flood still holding its connections, the tunnel carries new traffic.
    await Deno.writeTextFile(flag, "");
    const said = await wgcage.waitForLine(/^tunnel says/, 30_000);
    assert(said === `tunnel says tunnel-ok while holding ${greeted}`, said);
    const status = await wgcage.status;
    assert(status.code === 0, `wgcage exited ${status.code}: ${wgcage.stderr}`);
    await flood.stop();
  } finally {
    await lab.close();
  }
});
