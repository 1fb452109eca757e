/**
 * Proves the interop harness with wireguard-go on both sides:
 *
 * ```
 *   wgc-<pid>-<n>-server                       wgc-<pid>-<n>-client
 *   wireguard-go wgc<pid>w<a>                  wireguard-go wgc<pid>w<b>
 *     10.99.0.1/24 fd99::1/64  <- tunnel ->      10.99.0.2/24 fd99::2/64
 *   veth0 198.18.1.1/30  ------- veth -------  veth0 198.18.1.2/30
 *   server.ts on 10.99.0.1, fd99::1            client.ts, dig
 * ```
 *
 * Needs root (namespaces, veth, /dev/net/tun) and wireguard-go, wg, tcpdump,
 * nft, dig; fails with a message naming what is missing.
 *
 * @module
 */

import { Capture } from "./harness/capture.ts";
import { PacketLoss } from "./harness/loss.ts";
import {
  Lab,
  type Link,
  listNamespaces,
  type Namespace,
  requireRoot,
  requireTool,
  sweepStale,
} from "./harness/netns.ts";
import { describePacket, IpProtocol, isLinkChatter } from "./harness/pcap.ts";
import { pidAlive, run, sleep } from "./harness/process.ts";
import { clientArgv, parseClientReport, runClient, startServices } from "./harness/services.ts";
import { endpointOf, WgPeer } from "./harness/wg_peer.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function requirements(): Promise<void> {
  requireRoot("The harness test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("wg", "wireguard-tools");
  await requireTool("tcpdump", "tcpdump");
  await requireTool("nft", "nftables");
  await requireTool("dig", "dnsutils");
}

interface Pair {
  server: Namespace;
  client: Namespace;
  link: Link;
  serverPeer: WgPeer;
  clientPeer: WgPeer;
}

/** Two namespaces over veth, wireguard-go in each, peered with each other. */
async function wireguardPair(
  lab: Lab,
  presharedKey?: string,
  underlay: 4 | 6 = 4,
): Promise<Pair> {
  const server = await lab.namespace("server");
  const client = await lab.namespace("client");
  const link = await lab.link(server, client);
  const serverPeer = await WgPeer.start(lab, server, {
    listenPort: 51820,
    verbose: true,
    addresses: ["10.99.0.1/24", "fd99::1/64"],
  });
  const clientPeer = await WgPeer.start(lab, client, {
    addresses: ["10.99.0.2/24", "fd99::2/64"],
    peers: [{
      publicKey: serverPeer.keys.publicKey,
      presharedKey,
      allowedIps: ["10.99.0.0/24", "fd99::/64"],
      endpoint: endpointOf(underlay === 4 ? link.a.ipv4 : link.a.ipv6!, 51820),
      persistentKeepalive: 1,
    }],
  });
  await serverPeer.setPeer({
    publicKey: clientPeer.keys.publicKey,
    presharedKey,
    allowedIps: ["10.99.0.2/32", "fd99::2/128"],
  });
  return { server, client, link, serverPeer, clientPeer };
}

Deno.test("wireguard-go peers in two namespaces carry 10 MiB and DNS, and only WireGuard UDP crosses the veth", async () => {
  await requirements();
  const lab = await Lab.open();
  const made: string[] = [];
  const pids: number[] = [];
  try {
    const pair = await wireguardPair(lab);
    made.push(pair.server.name, pair.client.name);
    const capture = await Capture.start(lab, pair.client, pair.link.b.ifname);
    const services = await startServices(pair.server, {
      binds: ["10.99.0.1", "fd99::1"],
      dnsNames: ["peer.wgcage.test=10.99.0.1", "peer.wgcage.test=fd99::1"],
    });
    pids.push(pair.serverPeer.pid!, pair.clientPeer.pid!, services.process.pid);

    const handshake = await pair.clientPeer.waitForHandshake();
    assert(handshake > 0, "no handshake");
    await pair.serverPeer.waitForLog("Received handshake initiation", 5_000);
    assert(
      (await pair.serverPeer.latestHandshake(pair.clientPeer.keys.publicKey)) > 0,
      "the server side saw no handshake",
    );

    const tenMiB = 10 * 1024 * 1024;
    const data = await runClient(pair.client, "data", "10.99.0.1", { bytes: tenMiB });
    assert(data.ok, `10 MiB over IPv4 failed: ${JSON.stringify(data)}`);
    const data6 = await runClient(pair.client, "data", "fd99::1", { bytes: 1024 * 1024 });
    assert(data6.ok, `1 MiB over IPv6 failed: ${JSON.stringify(data6)}`);
    const echo = await runClient(pair.client, "tcp-echo", "10.99.0.1", { bytes: 100_000 });
    assert(echo.ok, `TCP echo failed: ${JSON.stringify(echo)}`);
    const udp = await runClient(pair.client, "udp-echo", "fd99::1", { count: 20 });
    assert(udp.ok, `UDP echo failed: ${JSON.stringify(udp)}`);

    const dig = await pair.client.run([
      "dig",
      "+short",
      "+time=2",
      "+tries=2",
      "@10.99.0.1",
      "peer.wgcage.test",
      "A",
    ]);
    assert(dig.stdout.trim() === "10.99.0.1", `dig A answered ${JSON.stringify(dig.stdout)}`);
    const dig6 = await pair.client.run([
      "dig",
      "+short",
      "+tcp",
      "@fd99::1",
      "peer.wgcage.test",
      "AAAA",
    ]);
    assert(dig6.stdout.trim() === "fd99::1", `dig AAAA answered ${JSON.stringify(dig6.stdout)}`);
    const nx = await pair.client.run(["dig", "+time=2", "@10.99.0.1", "missing.wgcage.test"]);
    assert(
      nx.stdout.includes("status: NXDOMAIN"),
      `unknown name did not get NXDOMAIN: ${nx.stdout}`,
    );
    await services.waitForDnsQuery((q) =>
      q.name === "peer.wgcage.test" && q.type === "A" && q.from === "10.99.0.2" &&
      q.answers === 1
    );
    await services.waitForDnsQuery((q) =>
      q.name === "peer.wgcage.test" && q.type === "AAAA" && q.transport === "tcp"
    );
    await services.waitForDnsQuery((q) =>
      q.name === "missing.wgcage.test" && q.rcode === "NXDOMAIN"
    );
    await services.waitForDataRequest((r) => r.bytes === tenMiB && r.from === "10.99.0.2");
    const queries = services.dnsQueries();
    assert(
      queries.every((q) => q.name?.endsWith(".wgcage.test")),
      `the responder logged queries nobody asked: ${JSON.stringify(queries)}`,
    );

    const transfer = await pair.clientPeer.transfer();
    assert(transfer[0].rxBytes > tenMiB, `wg transfer shows ${transfer[0].rxBytes} bytes received`);

    const packets = await capture.stop();
    const traffic = packets.filter((p) => !isLinkChatter(p));
    assert(traffic.length > 1000, `captured only ${traffic.length} packets`);
    const strays = traffic.filter((p) =>
      !(p.protocol === IpProtocol.Udp && (p.srcPort === 51820 || p.dstPort === 51820))
    );
    assert(
      strays.length === 0,
      `non-WireGuard packets crossed the veth: ${
        strays.slice(0, 5).map(describePacket).join("; ")
      }`,
    );
  } finally {
    await lab.close();
  }
  const left = (await listNamespaces()).filter((n) => made.includes(n));
  assert(left.length === 0, `namespaces left after close: ${left.join(", ")}`);
  const alive = pids.filter(pidAlive);
  assert(alive.length === 0, `processes left after close: ${alive.join(", ")}`);
  await lab.close(); // a second close is harmless
});

Deno.test("a restarted wireguard-go peer keeps its port and configuration and handshakes again over an IPv6 underlay", async () => {
  await requirements();
  const lab = await Lab.open();
  try {
    const psk = (await run(["wg", "genpsk"])).stdout.trim();
    const pair = await wireguardPair(lab, psk, 6);
    await pair.clientPeer.waitForHandshake();
    const clientKey = pair.clientPeer.keys.publicKey;
    const before = await pair.serverPeer.latestHandshake(clientKey);
    await sleep(1100); // handshake times have one-second resolution
    const oldPid = pair.clientPeer.pid;
    const oldPort = pair.clientPeer.listenPort;
    await pair.clientPeer.restart();
    assert(pair.clientPeer.pid !== oldPid, "restart kept the old process");
    assert(pair.clientPeer.listenPort === oldPort, "restart changed the listen port");
    assert(!pidAlive(oldPid!), "the old wireguard-go is still running");
    // The new process's keepalive starts a new handshake, which the server sees.
    await pair.serverPeer.waitForHandshake(clientKey, 10_000, before);
    await startServices(pair.server, { binds: ["10.99.0.1"], dnsPort: 5353 });
    const data = await runClient(pair.client, "data", "10.99.0.1", { bytes: 256 * 1024 });
    assert(data.ok, `data after restart failed: ${JSON.stringify(data)}`);
    const seen = (await pair.serverPeer.ns.run(["wg", "show", pair.serverPeer.ifname, "endpoints"]))
      .stdout;
    assert(seen.includes(`[${pair.link.b.ipv6}]:`), `server saw endpoint ${seen.trim()}`);
  } finally {
    await lab.close();
  }
});

Deno.test("packet loss drops some UDP on a veth until removed", async () => {
  await requirements();
  const lab = await Lab.open();
  try {
    const server = await lab.namespace("server");
    const client = await lab.namespace("client");
    const link = await lab.link(server, client, { ipv6: false });
    await startServices(server, { binds: [link.a.ipv4], dnsPort: 5353 });
    const loss = await PacketLoss.add(lab, client, link.b.ifname, 20);
    const lossy = await runClient(client, "udp-echo", link.a.ipv4, { count: 200 });
    assert(lossy.ok, `UDP echo with resends failed under loss: ${JSON.stringify(lossy)}`);
    const dropped = await loss.dropped();
    assert(dropped > 0, "nftables dropped nothing at 20 % loss over 400+ packets");
    await loss.remove();
    const listed = await client.run(["nft", "list", "tables"]);
    assert(!listed.stdout.includes(loss.table), "the loss table is still there after remove()");
    await loss.remove(); // twice is harmless
  } finally {
    await lab.close();
  }
});

Deno.test("a link to the test's own namespace reaches the peer and is removed on close", async () => {
  await requirements();
  const lab = await Lab.open();
  let hostIf = "";
  try {
    const peer = await lab.namespace("peer");
    const link = await lab.link(peer, "host");
    hostIf = link.b.ifname;
    assert(link.b.ns === undefined && hostIf.length <= 15, `bad host end ${hostIf}`);
    await startServices(peer, { binds: [link.a.ipv4, link.a.ipv6!], dnsPort: 5353 });
    for (const address of [link.a.ipv4, link.a.ipv6!]) {
      const echo = parseClientReport(
        await run(clientArgv("udp-echo", address, { count: 3 }), { allowFailure: true }),
      );
      assert(echo.ok, `UDP echo from the test's namespace to ${address}: ${JSON.stringify(echo)}`);
    }
  } finally {
    await lab.close();
  }
  const { code } = await run(["ip", "link", "show", hostIf], { allowFailure: true });
  assert(code !== 0, `host-side veth ${hostIf} still exists after close`);
});

Deno.test("close() ends running peers, services and captures and removes namespaces even mid-test", async () => {
  await requirements();
  const lab = await Lab.open();
  const pids: number[] = [];
  const made: string[] = [];
  let hostIf = "";
  try {
    const pair = await wireguardPair(lab);
    made.push(pair.server.name, pair.client.name);
    const hostLink = await lab.link(pair.server, "host", { ipv6: false });
    hostIf = hostLink.b.ifname;
    const services = await startServices(pair.server, { binds: ["10.99.0.1"], dnsPort: 5353 });
    await PacketLoss.add(lab, pair.client, pair.link.b.ifname);
    const captureHere = await Capture.start(lab, undefined, hostIf);
    await Capture.start(lab, pair.server, pair.link.a.ifname);
    const sleeper = pair.client.spawn(["sleep", "600"]);
    pids.push(pair.serverPeer.pid!, pair.clientPeer.pid!, services.process.pid, sleeper.pid);
    assert(captureHere.file.endsWith(".pcap"), "capture has no file");
  } finally {
    await lab.close();
  }
  const alive = pids.filter(pidAlive);
  assert(alive.length === 0, `processes left after close: ${alive.join(", ")}`);
  const left = (await listNamespaces()).filter((n) => made.includes(n));
  assert(left.length === 0, `namespaces left after close: ${left.join(", ")}`);
  const link = await run(["ip", "link", "show", hostIf], { allowFailure: true });
  assert(link.code !== 0, `host-side veth ${hostIf} left after close`);
  const tcpdumps = await run(["pgrep", "-f", `tcpdump -i ${hostIf}`], { allowFailure: true });
  assert(tcpdumps.stdout.trim() === "", `tcpdump still running: ${tcpdumps.stdout}`);
});

Deno.test("the sweep removes namespaces and links of dead test processes only", async () => {
  requireRoot("The sweep test");
  const dead = new Deno.Command("true").spawn();
  await dead.status;
  assert(!pidAlive(dead.pid), "the short-lived process is still alive");
  const staleNs = `wgc-${dead.pid}-0-stale`;
  const liveNs = `wgc-${Deno.pid}-zzzz-live`;
  const staleIf = `wgc${dead.pid}h0`;
  const staleDir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/wgc-keys-${dead.pid}-test`;
  try {
    await Deno.mkdir(staleDir);
    await Deno.writeTextFile(`${staleDir}/private`, "not a real key\n");
    await run(["ip", "netns", "add", staleNs]);
    await run(["ip", "netns", "add", liveNs]);
    await run([
      "ip",
      "link",
      "add",
      staleIf,
      "type",
      "veth",
      "peer",
      "name",
      "veth0",
      "netns",
      liveNs,
    ]);
    // Another test process may sweep first; what counts is that both are gone.
    await sweepStale();
    const link = await run(["ip", "link", "show", staleIf], { allowFailure: true });
    assert(link.code !== 0, `sweep did not remove ${staleIf}`);
    assert(!(await exists(staleDir)), `sweep did not remove ${staleDir}`);
    const names = await listNamespaces();
    assert(!names.includes(staleNs), `${staleNs} still exists`);
    assert(names.includes(liveNs), `sweep removed ${liveNs} of a live process`);
  } finally {
    await run(["ip", "netns", "del", staleNs], { allowFailure: true });
    await run(["ip", "netns", "del", liveNs], { allowFailure: true });
    await run(["ip", "link", "del", staleIf], { allowFailure: true });
    await Deno.remove(staleDir, { recursive: true }).catch(() => {});
  }
});
