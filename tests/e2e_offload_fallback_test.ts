/**
 * The data path's offloads forced off one at a time (and all at once) still
 * carry 10 MiB each way through wgcage ↔ wireguard-go, for both builds of
 * wireguard-go, with only WireGuard UDP on the wire; `-v` says what was on.
 *
 * Topology (as in e2e_interop_test.ts):
 *
 *   [peer ns] wireguard-go 10.99.0.1, services ── veth ── [client ns] wgcage → cage 10.99.0.2
 *
 * "data" downloads 10 MiB (UDP GRO on the socket, coalesced writes to the
 * TUN); "tcp-echo" sends 10 MiB and reads it back (TSO super-packets from the
 * cage cut before sealing, UDP GSO), over IPv4 and IPv6 inside. Then each case downloads 10 MiB again
 * with 5 % of the veth's packets dropped.
 *
 * @module
 */

import { Capture } from "./harness/capture.ts";
import { PacketLoss } from "./harness/loss.ts";
import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { assertOnlyWireGuard } from "./harness/pcap.ts";
import { clientArgv, parseClientReport, startServices } from "./harness/services.ts";
import { requireWireguardGo, WIREGUARD_GO_BUILDS } from "./harness/wg_peer.ts";
import { peerOverVeth, runWgcage } from "./e2e/wgcage.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const WG_PORT = 51820;
const TEN_MIB = 10 * 1024 * 1024;

/** Each case: the switches set, and what `-v` must then say. */
const CASES: { name: string; env: Record<string, string>; says: string[] }[] = [
  {
    name: "every offload on",
    env: {},
    says: ["TUN virtio header on (csum tso4 tso6", "coalescing on", "UDP GSO on", "UDP GRO on"],
  },
  {
    name: "WGCAGE_NO_VNET_HDR=1",
    env: { WGCAGE_NO_VNET_HDR: "1" },
    says: ["TUN virtio header off"],
  },
  { name: "WGCAGE_NO_COALESCE=1", env: { WGCAGE_NO_COALESCE: "1" }, says: ["coalescing off"] },
  { name: "WGCAGE_NO_GSO=1", env: { WGCAGE_NO_GSO: "1" }, says: ["UDP GSO off", "UDP GRO on"] },
  { name: "WGCAGE_NO_GRO=1", env: { WGCAGE_NO_GRO: "1" }, says: ["UDP GSO on", "UDP GRO off"] },
  {
    name: "all four off",
    env: {
      WGCAGE_NO_VNET_HDR: "1",
      WGCAGE_NO_COALESCE: "1",
      WGCAGE_NO_GSO: "1",
      WGCAGE_NO_GRO: "1",
    },
    says: ["TUN virtio header off", "UDP GSO off", "UDP GRO off"],
  },
];

for (const build of WIREGUARD_GO_BUILDS) {
  Deno.test(`${build.label}: 10 MiB each way with each offload forced off`, async (t) => {
    requireRoot("The offload fallback test");
    await requireWireguardGo(build);
    await requireTool("wg", "wireguard-tools");
    await requireTool("tcpdump", "tcpdump");
    const lab = await Lab.open();
    try {
      const { peerNs, clientNs, link, config } = await peerOverVeth(lab, build, { ipv6: true });
      await startServices(peerNs, { binds: ["10.99.0.1", "fd99::1"] });
      for (const c of CASES) {
        await t.step(c.name, async () => {
          const capture = await Capture.start(lab, clientNs, link.b.ifname);
          const runs = [
            ["data", "10.99.0.1"],
            ["tcp-echo", "10.99.0.1"],
            ["tcp-echo", "fd99::1"],
          ] as const;
          for (const [mode, host] of runs) {
            const r = await runWgcage(lab, {
              ns: clientNs,
              env: c.env,
              args: [
                "-v",
                "--config",
                config,
                "--",
                ...clientArgv(mode, host, { bytes: TEN_MIB }),
              ],
            });
            assert(r.code === 0, `${mode} ${host}: wgcage exited ${r.code}: ${r.stderr.trim()}`);
            const report = parseClientReport(r);
            assert(report.ok, `${mode} ${host}: ${JSON.stringify(report)}`);
            const line = r.stderr.split("\n").find((l) => l.includes("offloads:")) ?? "";
            for (const s of c.says) assert(line.includes(s), `-v said '${line}', not '${s}'`);
          }
          assertOnlyWireGuard(await capture.stop(), WG_PORT);
        });
      }
      const loss = await PacketLoss.add(lab, clientNs, link.b.ifname, 5);
      for (const c of CASES) {
        await t.step(`${c.name}, 5 % loss`, async () => {
          const before = await loss.dropped();
          const r = await runWgcage(lab, {
            ns: clientNs,
            env: c.env,
            // A lost initiation or response is retried after 5 s: room for a few.
            args: [
              "--handshake-timeout",
              "30",
              "--config",
              config,
              "--",
              ...clientArgv("data", "10.99.0.1", { bytes: TEN_MIB }),
            ],
            timeoutMs: 120_000,
          });
          assert(r.code === 0, `wgcage exited ${r.code}: ${r.stderr.trim()}`);
          const report = parseClientReport(r);
          assert(report.ok, JSON.stringify(report));
          assert((await loss.dropped()) > before, "the loss rule dropped nothing");
        });
      }
    } finally {
      await lab.close();
    }
  });
}
