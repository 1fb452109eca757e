/**
 * UDP datagrams coalesced into the cage arrive as they were sent: with USO on
 * the TUN, wgcage writes a run of equal-sized datagrams of one flow as one
 * UDP_L4 super-packet (launcher/offload.c), and the cage's kernel must cut it
 * back into the same datagrams for a socket without UDP_GRO. A header the
 * kernel refuses loses the whole run; a wrong one corrupts or merges
 * datagrams. Both show here, for both wireguard-go builds (the offload build
 * sends UDP GSO batches, so runs arrive together), and with coalescing forced
 * off as the control.
 *
 *   [peer ns] wireguard-go 10.99.0.1, burst sender ── veth ── [client ns] wgcage → cage 10.99.0.2
 *
 * The receiver in the cage asks for bursts; the sender answers each ask with
 * 32 datagrams of 1200 bytes (the last of each burst 300), each carrying its
 * number and a pattern from it. Every datagram received must be whole, of its
 * size, with its pattern, in order; nearly all must arrive.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { requireWireguardGo, WIREGUARD_GO_BUILDS } from "./harness/wg_peer.ts";
import { peerOverVeth, runWgcage } from "./e2e/wgcage.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const BURST_PORT = 9000;
const BURSTS = 20;
const PER_BURST = 32;

/** Datagram n: 4 bytes of n, then bytes (n + i) & 255; 1200 bytes, the last of a burst 300. */
const PATTERN = [
  "import struct",
  "def size(n): return 300 if n % PER_BURST == PER_BURST - 1 else 1200",
  "def datagram(n): return struct.pack('>I', n) + bytes((n + i) & 255 for i in range(size(n) - 4))",
].join("\n");

const SENDER = [
  "import socket, sys",
  `PER_BURST = ${PER_BURST}`,
  PATTERN,
  "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
  `s.bind(('10.99.0.1', ${BURST_PORT}))`,
  "print('ready', flush=True)",
  "while True:",
  "    ask, peer = s.recvfrom(64)",
  "    b = int(ask)",
  "    if b < 0: break",
  "    for n in range(b * PER_BURST, (b + 1) * PER_BURST): s.sendto(datagram(n), peer)",
].join("\n");

const RECEIVER = [
  "import socket, sys, json",
  `PER_BURST = ${PER_BURST}`,
  PATTERN,
  "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
  "s.settimeout(0.5)",
  `dest = ('10.99.0.1', ${BURST_PORT})`,
  "got, bad, last = 0, [], -1",
  `for b in range(${BURSTS}):`,
  "    s.sendto(str(b).encode(), dest)",
  "    while True:",
  "        try: d = s.recv(65536)",
  "        except socket.timeout: break",
  "        n = struct.unpack('>I', d[:4])[0] if len(d) >= 4 else -1",
  "        if n < 0 or d != datagram(n) or n <= last: bad.append([n, len(d)])",
  "        else: got += 1",
  "        last = max(last, n)",
  "        if n == (b + 1) * PER_BURST - 1: break",
  "s.sendto(b'-1', dest)",
  "print(json.dumps({'got': got, 'bad': bad[:5], 'bad_count': len(bad)}))",
].join("\n");

for (const build of WIREGUARD_GO_BUILDS) {
  Deno.test(`${build.label}: bursts of UDP datagrams reach the cage whole, sized and in order, coalesced or not`, async (t) => {
    requireRoot("The UDP coalescing test");
    await requireWireguardGo(build);
    await requireTool("wg", "wireguard-tools");
    await requireTool("python3", "python3");
    const lab = await Lab.open();
    try {
      const { peerNs, clientNs, config } = await peerOverVeth(lab, build);
      const cases: { name: string; env: Record<string, string>; says: string }[] = [
        { name: "coalescing on", env: {}, says: "coalescing on (TCP, UDP)" },
        { name: "WGCAGE_NO_COALESCE=1", env: { WGCAGE_NO_COALESCE: "1" }, says: "coalescing off" },
      ];
      for (const c of cases) {
        await t.step(c.name, async () => {
          const sender = peerNs.spawn(["python3", "-c", SENDER]);
          for (let i = 0; i < 100 && !sender.stdout.includes("ready"); i++) {
            await new Promise((r) => setTimeout(r, 20));
          }
          assert(sender.stdout.includes("ready"), `the sender did not start: ${sender.stderr}`);
          const r = await runWgcage(lab, {
            ns: clientNs,
            env: c.env,
            args: ["-v", "--config", config, "--", "python3", "-c", RECEIVER],
          });
          await sender.stop();
          assert(r.code === 0, `wgcage exited ${r.code}: ${r.stderr.trim()}`);
          const line = r.stderr.split("\n").find((l) => l.includes("offloads:")) ?? "";
          assert(line.includes(c.says), `-v said '${line}', not '${c.says}'`);
          const report = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
          const total = BURSTS * PER_BURST;
          assert(report.bad_count === 0, `damaged, merged or reordered datagrams: ${r.stdout}`);
          assert(report.got >= total * 0.95, `only ${report.got} of ${total} arrived: ${r.stdout}`);
        });
      }
    } finally {
      await lab.close();
    }
  });
}
