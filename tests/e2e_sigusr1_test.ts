/**
 * SIGUSR1 and the wgcage CLI: the signal is the command's, and never opens a
 * socket in wgcage. `deno run` (Deno ≥ 2.9.2) starts the V8 inspector on
 * 127.0.0.1:9229 when its process gets SIGUSR1 more than 500 ms after start;
 * wgcage must not, before the command runs or while it does.
 *
 * Each wgcage runs in a test namespace with a fixed ListenPort: afterwards it
 * holds exactly one TCP or UDP socket, that UDP port, and nothing in the
 * namespace listens on 9229; the cage's processes hold none.
 *
 * Needs root (namespaces) and wireguard-go.
 *
 * @module
 */

import { Lab, type Namespace, requireRoot, requireTool } from "./harness/netns.ts";
import { type NsProcess, sleep, waitUntil } from "./harness/process.ts";
import { generateKeyPair } from "./harness/keys.ts";
import { endpointOf, WgPeer } from "./harness/wg_peer.ts";
import { descendants, heldSockets, tcpListenPorts } from "./harness/sockets.ts";
import { wgcageArgv, wgQuick, writeConfig } from "./e2e/wgcage.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** wgcage's own UDP port in these tests: the one socket it may hold. */
const WG_PORT = 51821;
/** Where Deno's SIGUSR1 debugger listens. */
const INSPECTOR_PORT = 9229;
/** Well past the 500 ms after which `deno run` answers SIGUSR1 with a debugger. */
const PAST_GRACE_MS = 1500;

/**
 * An endpoint in `ns` that never answers, not even with ICMP port unreachable
 * (which ends wgcage's wait for a handshake at once): UDP to 127.0.0.1:9 is
 * dropped before it reaches the socket layer.
 */
async function silentEndpoint(ns: Namespace): Promise<string> {
  await requireTool("nft", "nftables");
  const rules = "add table inet silent; " +
    "add chain inet silent input { type filter hook input priority 0; }; " +
    "add rule inet silent input ip daddr 127.0.0.1 udp dport 9 drop";
  const r = await ns.run(["nft", rules], { allowFailure: true });
  assert(r.code === 0, `nft in the test namespace failed: ${r.stderr}`);
  return endpointOf("127.0.0.1", 9);
}

/** A config for wgcage on WG_PORT whose peer is at `endpoint`. */
async function configFor(
  lab: Lab,
  privateKey: string,
  peerPublicKey: string,
  endpoint: string,
): Promise<string> {
  return await writeConfig(
    lab,
    wgQuick({ privateKey, addresses: ["10.99.0.2/24"], listenPort: WG_PORT }, [{
      publicKey: peerPublicKey,
      allowedIps: ["10.99.0.0/24"],
      endpoint,
    }]),
  );
}

/** A wireguard-go peer on 51820 in `ns`, and a wgcage config that reaches it. */
async function answeringPeer(lab: Lab, ns: Namespace): Promise<string> {
  const mine = await generateKeyPair();
  const peer = await WgPeer.start(lab, ns, {
    listenPort: 51820,
    addresses: ["10.99.0.1/24"],
    peers: [{ publicKey: mine.publicKey, allowedIps: ["10.99.0.2/32"] }],
  });
  return await configFor(
    lab,
    mine.privateKey,
    peer.keys.publicKey,
    endpointOf("127.0.0.1", 51820),
  );
}

/** Sends SIGUSR1 once `PAST_GRACE_MS` have passed since `startedAt`. */
async function usr1PastGrace(p: NsProcess, startedAt: number): Promise<void> {
  await sleep(Math.max(0, PAST_GRACE_MS - (performance.now() - startedAt)));
  p.signal("SIGUSR1");
}

/**
 * wgcage holds no TCP socket and one UDP socket, on WG_PORT; nothing in its
 * namespace listens on 9229; the processes in its cage hold no TCP or UDP
 * socket either.
 */
async function assertOnlyTheWireGuardSocket(pid: number, what: string): Promise<void> {
  const held = await heldSockets(pid);
  const others = held.filter((s) => !(s.table.startsWith("udp") && s.port === WG_PORT));
  assert(
    others.length === 0,
    `${what}: wgcage holds sockets besides UDP ${WG_PORT}: ${JSON.stringify(others)}`,
  );
  assert(held.length === 1, `${what}: wgcage holds ${JSON.stringify(held)}`);
  const listening = await tcpListenPorts(pid);
  assert(
    !listening.includes(INSPECTOR_PORT),
    `${what}: something listens on ${INSPECTOR_PORT} (TCP listeners: ${listening.join(", ")})`,
  );
  for (const child of await descendants(pid)) {
    const theirs = await heldSockets(child);
    assert(theirs.length === 0, `${what}: process ${child} holds ${JSON.stringify(theirs)}`);
  }
}

function count(p: NsProcess, line: string): number {
  return p.lines.filter((l) => l === line).length;
}

Deno.test("SIGUSR1 sent to wgcage reaches the command, and wgcage opens no socket for it", async () => {
  requireRoot("The SIGUSR1 test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("usr1");
    const config = await answeringPeer(lab, ns);
    const script = `trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.1; done`;
    const startedAt = performance.now();
    const p = ns.spawn(wgcageArgv(["--config", config, "--", "sh", "-c", script]));
    await p.waitForLine("ready", 20_000);
    for (let sent = 1; sent <= 3; sent++) {
      await usr1PastGrace(p, startedAt);
      await waitUntil(
        () => count(p, "got-usr1") >= sent,
        `the command to see SIGUSR1 number ${sent} (stdout: ${p.stdout}; stderr: ${p.stderr})`,
        5_000,
      );
      await sleep(100);
    }
    // Time for a debugger to come up, were there one.
    await sleep(300);
    assert(!p.exited, `wgcage ended: ${p.stderr}`);
    await assertOnlyTheWireGuardSocket(p.pid, "after SIGUSR1 x3 to a running command");
    assert(count(p, "got-usr1") === 3, `the command saw: ${p.stdout}`);
    const status = await p.stop("SIGTERM");
    assert(status.code === 143, `wgcage exited ${status.code}: ${p.stderr}`);
    assert(!p.stderr.includes("Debugger"), `wgcage printed: ${p.stderr}`);
  } finally {
    await lab.close();
  }
});

Deno.test("SIGUSR1 while wgcage waits for the handshake is dropped, and opens no socket", async () => {
  requireRoot("The SIGUSR1 test");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("usr1w");
    // A peer that never answers: wgcage keeps waiting for the handshake.
    const config = await configFor(
      lab,
      (await generateKeyPair()).privateKey,
      (await generateKeyPair()).publicKey,
      await silentEndpoint(ns),
    );
    const startedAt = performance.now();
    const p = ns.spawn(
      wgcageArgv(["-v", "--handshake-timeout", "60", "--config", config, "--", "true"]),
    );
    await waitUntil(
      () => p.stderr.includes("handshake initiation sent") || p.exited,
      `wgcage to start a handshake (stderr: ${p.stderr})`,
      20_000,
    );
    for (let i = 0; i < 3; i++) {
      await usr1PastGrace(p, startedAt);
      await sleep(100);
    }
    await sleep(300);
    assert(!p.exited, `wgcage ended on SIGUSR1: ${p.stderr}`);
    await assertOnlyTheWireGuardSocket(p.pid, "after SIGUSR1 x3 before the command");
    const status = await p.stop("SIGINT");
    assert(status.code === 130, `wgcage exited ${status.code}: ${p.stderr}`);
    assert(!p.stderr.includes("Debugger"), `wgcage printed: ${p.stderr}`);
    assert((await ns.pids()).length === 0, "a process of the cage is left");
  } finally {
    await lab.close();
  }
});

Deno.test("SIGUSR1 every 25 ms from start-up on, across Deno's 500 ms mark, never opens a socket", async () => {
  requireRoot("The SIGUSR1 test");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("usr1s");
    const config = await configFor(
      lab,
      (await generateKeyPair()).privateKey,
      (await generateKeyPair()).publicKey,
      await silentEndpoint(ns),
    );
    const startedAt = performance.now();
    const p = ns.spawn(
      wgcageArgv(["-v", "--handshake-timeout", "60", "--config", config, "--", "true"]),
    );
    // wgcage's first word (-v) comes after main() took SIGUSR1; before that
    // the signal's default action would end it, which opens nothing either.
    await waitUntil(() => p.stderr !== "" || p.exited, "wgcage to say something", 20_000);
    let sent = 0;
    while (performance.now() - startedAt < PAST_GRACE_MS + 500) {
      p.signal("SIGUSR1");
      sent++;
      const listening = await tcpListenPorts(p.pid);
      assert(
        !listening.includes(INSPECTOR_PORT),
        `after ${sent} SIGUSR1, ${Math.round(performance.now() - startedAt)} ms: ` +
          `9229 listens; stderr: ${p.stderr}`,
      );
      await sleep(25);
    }
    await sleep(300);
    assert(!p.exited, `wgcage ended after ${sent} SIGUSR1: ${p.stderr}`);
    await assertOnlyTheWireGuardSocket(p.pid, `after ${sent} SIGUSR1`);
    const status = await p.stop("SIGINT");
    assert(status.code === 130, `wgcage exited ${status.code}: ${p.stderr}`);
  } finally {
    await lab.close();
  }
});
