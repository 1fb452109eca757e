/**
 * A handshake that fails says why, in the one line of its error (125):
 *
 * - a closed port: "port unreachable", at once (ICMP), not at the timeout;
 * - a wrong PresharedKey: the peer answers, and its response does not
 *   authenticate: "did not authenticate";
 * - a dropped path (nftables drops UDP in the test namespace): "no answer";
 * - a wrong peer PublicKey: "no answer" too, with the keys named in the fix
 *   (WireGuard answers nothing to an initiation made for another key).
 *
 *     test namespace (loopback only)
 *       wireguard-go  10.87.0.1/24  udp 51820  ── the peer
 *       wgcage        10.87.0.2, to 127.0.0.1:51820 (or :51999, closed)
 *
 * Needs root, wireguard-go, wg and nft.
 *
 * @module
 */

import { Lab, type Namespace, requireRoot, requireTool } from "./harness/netns.ts";
import { generateKeyPair, generatePresharedKey, type KeyPair } from "./harness/keys.ts";
import { WgPeer } from "./harness/wg_peer.ts";
import { runWgcage, wgQuick, writeConfig } from "./e2e/wgcage.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

interface Setup {
  ns: Namespace;
  keys: KeyPair;
  peer: WgPeer;
}

async function setup(lab: Lab, role: string, peerPsk?: string): Promise<Setup> {
  const ns = await lab.namespace(role);
  const keys = await generateKeyPair();
  const peer = await WgPeer.start(lab, ns, {
    listenPort: 51820,
    addresses: ["10.87.0.1/24"],
    peers: [{ publicKey: keys.publicKey, presharedKey: peerPsk, allowedIps: ["10.87.0.2/32"] }],
  });
  return { ns, keys, peer };
}

/** Runs `true` in a cage with the given peer settings; returns stderr, exit and ms taken. */
async function attempt(
  lab: Lab,
  s: Setup,
  peer: { publicKey?: string; presharedKey?: string; port?: number },
  timeoutS: number,
): Promise<{ code: number; stderr: string; ms: number }> {
  const config = await writeConfig(
    lab,
    wgQuick({ privateKey: s.keys.privateKey, addresses: ["10.87.0.2/24"] }, [{
      publicKey: peer.publicKey ?? s.peer.keys.publicKey,
      presharedKey: peer.presharedKey,
      allowedIps: ["10.87.0.0/24"],
      endpoint: `127.0.0.1:${peer.port ?? 51820}`,
    }]),
  );
  const started = performance.now();
  const r = await runWgcage(lab, {
    ns: s.ns,
    args: ["--config", config, "--handshake-timeout", String(timeoutS), "--", "true"],
  });
  return { code: r.code, stderr: r.stderr, ms: performance.now() - started };
}

/** The error line: exit 125, one line naming the endpoint. */
function errorLine(r: { code: number; stderr: string }, what: string): string {
  assert(r.code === 125, `${what}: exit ${r.code}: ${r.stderr}`);
  const lines = r.stderr.trim().split("\n").filter((l) => l.includes("No handshake"));
  assert(lines.length === 1, `${what}: ${r.stderr}`);
  return lines[0];
}

Deno.test("handshake failure: a closed port is 'port unreachable', at once", async () => {
  requireRoot("The handshake failure test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const s = await setup(lab, "hsport");
    const r = await attempt(lab, s, { port: 51999 }, 10);
    const line = errorLine(r, "closed port");
    assert(/No handshake with 127\.0\.0\.1:51999 .*port unreachable/.test(line), line);
    assert(line.includes("nothing listens on UDP port 51999"), line);
    // The probe goes out 0.3 s into the wait; well before the 10 s timeout.
    assert(r.ms < 5000, `a refused port took ${Math.round(r.ms)} ms: ${line}`);
  } finally {
    await lab.close();
  }
});

Deno.test("handshake failure: a wrong PresharedKey is 'did not authenticate'", async () => {
  requireRoot("The handshake failure test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("wg", "wireguard-tools");
  const lab = await Lab.open();
  try {
    const s = await setup(lab, "hspsk", await generatePresharedKey());
    const r = await attempt(lab, s, { presharedKey: await generatePresharedKey() }, 3);
    const line = errorLine(r, "wrong PSK");
    assert(line.includes("did not authenticate") && line.includes("PresharedKey"), line);
    assert(!line.includes("no answer"), line);
  } finally {
    await lab.close();
  }
});

Deno.test("handshake failure: a path that drops UDP, or a wrong peer PublicKey, is 'no answer'", async () => {
  requireRoot("The handshake failure test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("nft", "nftables");
  const lab = await Lab.open();
  try {
    const s = await setup(lab, "hsdrop");
    const wrong = await generateKeyPair();
    const key = await attempt(lab, s, { publicKey: wrong.publicKey }, 3);
    const keyLine = errorLine(key, "wrong PublicKey");
    assert(keyLine.includes("within 3 s: no answer;"), keyLine);
    assert(keyLine.includes("a peer answers nothing to an initiation"), keyLine);

    // Every datagram to the peer's port dropped, as a firewall would (no ICMP).
    await s.ns.run(["nft", "-f", "-"], {
      stdin: "table inet wgchsdrop {\n  chain input { type filter hook input priority -10; " +
        "policy accept; udp dport 51820 drop; }\n}\n",
    });
    const dropped = await attempt(lab, s, {}, 3);
    const line = errorLine(dropped, "dropped path");
    assert(line.includes("within 3 s: no answer;"), line);
    assert(line.includes("a firewall may drop it"), line);
    assert(!line.includes("port unreachable"), line);
  } finally {
    await lab.close();
  }
});
