/**
 * A live cage's control socket, driven by the stock `wg` (not a
 * re-implementation of it): `wg set` adds a second peer (a second
 * wireguard-go) whose AllowedIPs then carry traffic, removing it removes its
 * route; rootless `wgcage wg NAME show`; and garbage on the socket (random
 * and mutated UAPI text, a huge line, a half request, a client that never
 * reads) gets `errno=` or a closed connection while the tunnel goes on.
 *
 *     test namespace (loopback only)
 *       wireguard-go A  10.94.0.1/24  udp 51820   ── peer of the cage
 *       wireguard-go B  10.93.0.1/24  udp 51821   ── added with `wg set`
 *       the keeper      cage 10.94.0.2
 *
 * Needs root, wireguard-go and wg.
 *
 * @module
 */

import { Lab, type Namespace, requireRoot, requireTool } from "./harness/netns.ts";
import { cageName } from "./harness/names.ts";
import { relayInNamespace } from "./harness/control_relay.ts";
import { run, type RunResult } from "./harness/process.ts";
import { WgPeer } from "./harness/wg_peer.ts";
import { clientArgv, parseClientReport, startServices } from "./harness/services.ts";
import { NOBODY, wgcageArgv } from "./e2e/wgcage.ts";
import { livePeer, liveRunner } from "./harness/live.ts";
import { assert } from "./cage/assert.ts";

function wgcage(ns: Namespace, args: string[]): Promise<RunResult> {
  return run(wgcageArgv(args), { ns: ns.name, allowFailure: true, timeoutMs: 60_000 });
}

Deno.test("live cage (root): stock wg set adds a second wireguard-go peer whose AllowedIPs carry traffic; removing it removes its route", async () => {
  requireRoot("The control socket test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("wg", "wireguard-tools");
  const lab = await Lab.open();
  const name = cageName("lc");
  try {
    const { ns, keys, config } = await livePeer(lab, "livectl", 0);
    const b = await WgPeer.start(lab, ns, {
      listenPort: 51821,
      addresses: ["10.93.0.1/24"],
      peers: [{ publicKey: keys.publicKey, allowedIps: ["10.94.0.2/32"] }],
    });
    // Both peers share the namespace: B's replies to the cage leave through B.
    await ns.ip("rule", "add", "from", "10.93.0.1", "table", "100");
    await ns.ip("route", "add", "10.94.0.2/32", "dev", b.ifname, "table", "100");
    await startServices(ns, { binds: ["10.93.0.1"] });
    const up = await wgcage(ns, ["up", name, "-d", "--config", config]);
    assert(up.code === 0, `up -d: ${up.stderr}`);
    try {
      // In the keeper's network namespace: the control socket serves no other.
      const show = await run(["wg", "show", name], { ns: ns.name, allowFailure: true });
      assert(/latest handshake: /.test(show.stdout), `wg show: ${show.stdout} ${show.stderr}`);
      assert(/transfer: \d+ B received, \d+ B sent/.test(show.stdout), `wg show: ${show.stdout}`);

      const set = await run([
        "wg",
        "set",
        name,
        "peer",
        b.keys.publicKey,
        "allowed-ips",
        "10.93.0.0/24",
        "endpoint",
        "127.0.0.1:51821",
      ], { ns: ns.name, allowFailure: true });
      assert(set.code === 0, `wg set: ${set.stderr}`);
      const fetch = await wgcage(ns, [
        "exec",
        name,
        "--",
        ...clientArgv("data", "10.93.0.1", { bytes: 1 << 20 }),
      ]);
      const report = parseClientReport(fetch);
      assert(report.ok && report.bytes === 1 << 20, `via B: ${JSON.stringify(report)}`);
      const dump = await run(["wg", "show", name, "dump"], { ns: ns.name, allowFailure: true });
      const rowB = dump.stdout.split("\n").find((l) => l.startsWith(b.keys.publicKey)) ?? "";
      assert(Number(rowB.split("\t")[5]) > 0, `no transfer with B: ${dump.stdout}`);

      const remove = await run(["wg", "set", name, "peer", b.keys.publicKey, "remove"], {
        ns: ns.name,
        allowFailure: true,
      });
      assert(remove.code === 0, `wg set remove: ${remove.stderr}`);
      const routes = await wgcage(ns, ["exec", name, "--", "ip", "route"]);
      assert(!routes.stdout.includes("10.93.0.0/24"), `route left: ${routes.stdout}`);
      const shown = await wgcage(ns, ["show", name, "--json"]);
      const peers = (JSON.parse(shown.stdout) as { peers: { publicKey: string }[] }).peers;
      assert(peers.length === 1 && peers[0].publicKey !== b.keys.publicKey, shown.stdout);
    } finally {
      await wgcage(ns, ["down", name]);
    }
  } finally {
    await lab.close();
  }
});

Deno.test("live cage (nobody): wgcage wg NAME show runs the stock wg against the cage", async () => {
  requireRoot("The control socket test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("wg", "wireguard-tools");
  const lab = await Lab.open();
  try {
    const { ns, a, config } = await livePeer(lab, "livewg", NOBODY);
    const as = (await liveRunner(lab, ns.name, true)).wgcage;
    const name = cageName("lw");
    const up = await as(["up", name, "-d", "--config", config]);
    assert(up.code === 0, `up -d: ${up.stderr}`);
    try {
      const show = await as(["wg", name, "show"]);
      assert(show.code === 0, `wgcage wg show: ${show.code} ${show.stderr}`);
      assert(show.stdout.includes(`interface: ${name}`), show.stdout);
      assert(show.stdout.includes(`peer: ${a.keys.publicKey}`), show.stdout);
      assert(/latest handshake: /.test(show.stdout), show.stdout);
    } finally {
      await as(["down", name]);
    }
  } finally {
    await lab.close();
  }
});

/** Sends `bytes` on a new connection and returns what comes back before it closes or `waitMs` pass. */
async function exchange(
  path: string,
  bytes: Uint8Array,
  read = true,
  waitMs = 2000,
): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path });
  try {
    await conn.write(bytes).catch(() => 0);
    if (!read) return "";
    const buf = new Uint8Array(65536);
    let out = "";
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      const n = await Promise.race([
        conn.read(buf).catch(() => null),
        new Promise<"wait">((r) => setTimeout(() => r("wait"), deadline - Date.now())),
      ]);
      if (n === null || n === "wait") break;
      out += new TextDecoder().decode(buf.subarray(0, n));
      if (out.endsWith("\n\n")) break;
    }
    return out;
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the keeper
    }
  }
}

Deno.test("live cage (root): garbage on the control socket gets errno= or a closed connection; the keeper and tunnel go on", async () => {
  requireRoot("The control socket test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("wg", "wireguard-tools");
  const lab = await Lab.open();
  const name = cageName("lf");
  try {
    const { ns, config } = await livePeer(lab, "livefuzz", 0);
    const up = await wgcage(ns, ["up", name, "-d", "--config", config]);
    assert(up.code === 0, `up -d: ${up.stderr}`);
    const sock = `/run/wgcage/${name}.sock`;
    const path = await relayInNamespace(lab, ns, sock);
    const enc = new TextEncoder();
    try {
      // A client that never reads, and a half request left open, while the rest goes on.
      const lazy = await Deno.connect({ transport: "unix", path });
      const writing = (async () => {
        for (let i = 0; i < 4000; i++) await lazy.write(enc.encode("get=1\n\n"));
      })().catch(() => {});
      const half = await Deno.connect({ transport: "unix", path });
      await half.write(enc.encode("set=1\nprivate_key=00"));

      const seeds = [
        "set=1\npublic_key=zz\n\n",
        "set=1\nlisten_port=70000\n\n",
        "set=1\npublic_key=" + "ab".repeat(32) + "\nallowed_ip=10.0.0.0/99\n\n",
        "set=1\npublic_key=" + "ab".repeat(32) + "\nendpoint=nohost:1\n\n",
        "set=1\nreplace_peers=false\n\n",
        "set=1\nbogus\n\n",
        "get=1\nextra=1\n\n",
      ];
      for (const s of seeds) {
        const reply = await exchange(path, enc.encode(s));
        assert(/^errno=-\d+\n\n$/.test(reply), `${JSON.stringify(s)} got ${JSON.stringify(reply)}`);
      }
      // Random bytes and mutations of a valid request: an errno= reply, a
      // get=1 answer, or a closed connection; never a hang of the keeper.
      let seed = 0x2545f491;
      const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
      const valid = "set=1\npublic_key=" + "cd".repeat(32) +
        "\nendpoint=127.0.0.1:9\nallowed_ip=10.77.0.0/24\npersistent_keepalive_interval=0\n\n";
      for (let i = 0; i < 150; i++) {
        let bytes: Uint8Array;
        if (i % 3 === 0) {
          const noise = crypto.getRandomValues(new Uint8Array(1 + Math.floor(rand() * 400)));
          bytes = new Uint8Array([...noise, 10, 10]);
        } else {
          const m = enc.encode(valid);
          for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) {
            m[Math.floor(rand() * m.length)] = Math.floor(rand() * 256);
          }
          bytes = m;
        }
        const reply = await exchange(path, bytes, true, 300);
        assert(
          reply === "" || /(^|\n)errno=-?\d+\n\n$/.test(reply),
          `mutation ${i}: ${JSON.stringify(reply.slice(0, 200))}`,
        );
      }
      // A huge line: refused, the connection closed.
      const huge = await exchange(path, enc.encode("set=1\n" + "a".repeat(2 << 20)));
      assert(
        huge === "" || huge === "errno=-22\n\n",
        `huge line: ${JSON.stringify(huge.slice(0, 80))}`,
      );

      // The mutated requests may have added peers: drop every one but the real one.
      const show = await run(["wg", "show", name, "dump"], { ns: ns.name, allowFailure: true });
      assert(show.code === 0, `wg show after the fuzz: ${show.stderr}`);
      const ok = await wgcage(ns, ["exec", name, "--", "ip", "-o", "link"]);
      assert(ok.code === 0, `exec after the fuzz: ${ok.stderr}`);
      const get = await exchange(path, enc.encode("get=1\n\n"));
      assert(get.includes("listen_port=") && get.endsWith("errno=0\n\n"), get.slice(-100));
      half.close();
      try {
        lazy.close();
      } catch {
        // closed by the keeper
      }
      await writing;
    } finally {
      await wgcage(ns, ["down", name]);
    }
    assert(!(await Deno.stat(sock).then(() => true, () => false)), "socket left");
  } finally {
    await lab.close();
  }
});

/** The peer rows of `wg show IFACE dump`, by public key: the fields after the key. */
async function dumpPeers(iface: string, ns?: string): Promise<Map<string, string[]>> {
  const dump = await run(["wg", "show", iface, "dump"], { ns, allowFailure: true });
  assert(dump.code === 0, `wg show ${iface} dump: ${dump.stderr}`);
  const rows = dump.stdout.trim().split("\n").slice(1).map((l) => l.split("\t"));
  return new Map(rows.map((r) => [r[0], r.slice(1)]));
}

Deno.test("live cage (root): wg set changes keepalive and preshared key while traffic flows, without a new session", async () => {
  requireRoot("The control socket test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("wg", "wireguard-tools");
  const lab = await Lab.open();
  const name = cageName("lp");
  try {
    const { ns, keys, a, config } = await livePeer(lab, "livepsk", 0);
    await startServices(ns, { binds: ["10.94.0.1"] });
    const psk = (await run(["wg", "genpsk"])).stdout.trim();
    const pskFile = await Deno.makeTempFile({ prefix: "wgc-psk-" });
    lab.defer(() => Deno.remove(pskFile));
    await Deno.writeTextFile(pskFile, psk + "\n");
    const up = await wgcage(ns, ["up", name, "-d", "--config", config]);
    assert(up.code === 0, `up -d: ${up.stderr}`);
    try {
      // [psk, endpoint, allowed ips, latest handshake, rx, tx, keepalive]
      const before = (await dumpPeers(name, ns.name)).get(a.keys.publicKey)!;
      const peerBefore = (await dumpPeers(a.ifname, ns.name)).get(keys.publicKey)!;
      assert(Number(before[3]) > 0, `no handshake yet: ${before}`);
      const fetching = wgcage(ns, [
        "exec",
        name,
        "--",
        ...clientArgv("data", "10.94.0.1", { bytes: 8 << 20 }),
      ]);
      await new Promise((r) => setTimeout(r, 300));
      const set = await run([
        "wg",
        "set",
        name,
        "peer",
        a.keys.publicKey,
        "persistent-keepalive",
        "1",
        "preshared-key",
        pskFile,
      ], { ns: ns.name, allowFailure: true });
      assert(set.code === 0, `wg set: ${set.stderr}`);
      const report = parseClientReport(await fetching);
      assert(
        report.ok && report.bytes === 8 << 20,
        `8 MiB across the change: ${JSON.stringify(report)}`,
      );

      const after = (await dumpPeers(name, ns.name)).get(a.keys.publicKey)!;
      assert(after[0] === psk && after[6] === "1", `psk and keepalive not set: ${after}`);
      // The same session: no handshake on either side since (a re-added peer
      // would have started over with one).
      assert(after[3] === before[3], `a new handshake: ${before[3]} -> ${after[3]}`);
      assert(Number(after[4]) > Number(before[4]), `no traffic: ${before[4]} -> ${after[4]}`);
      const peerAfter = (await dumpPeers(a.ifname, ns.name)).get(keys.publicKey)!;
      assert(peerAfter[3] === peerBefore[3], `the peer saw a new handshake: ${peerAfter}`);

      // Keepalive now on, in place: the peer hears from the idle cage each second.
      const rx0 = Number(peerAfter[4]);
      await new Promise((r) => setTimeout(r, 2500));
      const peerLater = (await dumpPeers(a.ifname, ns.name)).get(keys.publicKey)!;
      assert(Number(peerLater[4]) >= rx0 + 64, `no keepalives: ${rx0} -> ${peerLater[4]}`);
      assert(peerLater[3] === peerBefore[3], `the peer saw a new handshake: ${peerLater}`);
    } finally {
      await wgcage(ns, ["down", name]);
    }
  } finally {
    await lab.close();
  }
});
