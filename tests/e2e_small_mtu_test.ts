/**
 * An MTU below 1280 with IPv6 in AllowedIPs (here the default-like ::/0)
 * and in Address: the kernel takes IPv6 off such a link, so the cage gets
 * its IPv4 address and routes only and one warning line, instead of failing
 * with "No such device" (routes) or refusing the config (address). For a run
 * and for a live cage; IPv4 traffic still flows through the tunnel.
 *
 *     test namespace (loopback only)
 *       wireguard-go  10.88.0.1/24  udp 51820  ── the cage's peer
 *       the cage      10.88.0.2, fd88::2, MTU 1200, AllowedIPs 10.88.0.0/24, ::/0
 *
 * Needs root, wireguard-go and socat.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { cageName } from "./harness/names.ts";
import { run } from "./harness/process.ts";
import { generateKeyPair } from "./harness/keys.ts";
import { WgPeer } from "./harness/wg_peer.ts";
import { runWgcage, wgcageArgv, wgQuick, writeConfig } from "./e2e/wgcage.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const INSIDE =
  "ip -o link show wg0; echo v6:; ip -6 route; ip -6 -o addr show dev wg0; echo v4:; " +
  "ip -4 route; " +
  "socat -T 5 - TCP:10.88.0.1:7777,connect-timeout=5 </dev/null | grep -q hello && echo tcp-ok";

Deno.test("MTU 1200 with ::/0 in AllowedIPs and an IPv6 Address: IPv4 only, one warning line (run and live cage)", async () => {
  requireRoot("The small MTU test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("socat", "socat");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("smallmtu");
    const keys = await generateKeyPair();
    const peer = await WgPeer.start(lab, ns, {
      listenPort: 51820,
      addresses: ["10.88.0.1/24"],
      peers: [{ publicKey: keys.publicKey, allowedIps: ["10.88.0.2/32"] }],
    });
    ns.spawn([
      "socat",
      "TCP-LISTEN:7777,bind=10.88.0.1,fork,reuseaddr",
      "SYSTEM:echo hello",
    ]);
    const config = await writeConfig(
      lab,
      wgQuick({
        privateKey: keys.privateKey,
        addresses: ["10.88.0.2/24", "fd88::2/64"],
        mtu: 1200,
      }, [{
        publicKey: peer.keys.publicKey,
        allowedIps: ["10.88.0.0/24", "::/0"],
        endpoint: "127.0.0.1:51820",
      }]),
    );
    const check = (what: string, code: number, stdout: string, stderr: string) => {
      assert(code === 0, `${what}: exit ${code}: ${stderr}`);
      assert(/mtu 1200/.test(stdout), `${what}: ${stdout}`);
      const v6 = stdout.slice(stdout.indexOf("v6:"), stdout.indexOf("v4:"));
      assert(!v6.includes("wg0"), `${what}: an IPv6 route on wg0: ${stdout}`);
      assert(/10\.88\.0\.0\/24 dev wg0/.test(stdout), `${what}: no IPv4 route: ${stdout}`);
      assert(stdout.includes("tcp-ok"), `${what}: no IPv4 traffic: ${stdout}`);
    };
    const warning = "MTU 1200 is below 1280, the minimum for IPv6, so the cage has no IPv6";

    const r = await runWgcage(lab, { ns, args: ["--config", config, "--", "sh", "-c", INSIDE] });
    check("run", r.code, r.stdout, r.stderr);
    const said = r.stderr.split("\n").filter((l) => l.includes(warning));
    assert(
      said.length === 1 && said[0].includes("fd88::2/64, ::/0 left out"),
      `run's warning: ${r.stderr}`,
    );

    const name = cageName("mt");
    const up = await run(wgcageArgv(["up", name, "-d", "--config", config]), {
      ns: ns.name,
      allowFailure: true,
      timeoutMs: 60_000,
    });
    try {
      assert(up.code === 0, `up -d: ${up.code} ${up.stderr}`);
      assert(up.stderr.includes(warning), `up's warning: ${up.stderr}`);
      const inside = await run(wgcageArgv(["exec", name, "--", "sh", "-c", INSIDE]), {
        ns: ns.name,
        allowFailure: true,
        timeoutMs: 60_000,
      });
      check("live cage", inside.code, inside.stdout, inside.stderr);
    } finally {
      await run(wgcageArgv(["down", name]), { ns: ns.name, allowFailure: true });
    }
  } finally {
    await lab.close();
  }
});
