/**
 * DNS in the cage when `DNS =` is wrong: a server that never answers fails
 * a lookup within seconds (the cage's resolv.conf sets glibc's timeout and
 * attempts) and -v names it, and a server outside every AllowedIPs gets a
 * warning.
 *
 *     test namespace (loopback only)
 *       wireguard-go  10.99.0.1/24  udp 51820  ── the cage's peer
 *       10.99.0.53: routed into the tunnel, but the peer forwards nothing,
 *                   so queries to it vanish without an answer or an error
 *
 * Needs root and wireguard-go.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { loopbackPeer, runWgcage } from "./e2e/wgcage.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Times one failing lookup in the cage, in ms; prints the resolv.conf first. */
const LOOKUP = "cat /etc/resolv.conf; s=$(date +%s%N); getent ahostsv4 nothing.invalid; " +
  'echo "rc=$?"; echo "ms=$(( ($(date +%s%N) - s) / 1000000 ))"';

Deno.test("cage DNS: a server that never answers fails a lookup in seconds, not 20 s", async () => {
  requireRoot("The DNS test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("dnsdead");
    const { config } = await loopbackPeer(lab, ns);
    const r = await runWgcage(lab, {
      ns,
      args: ["--config", config, "--wg-dns", "10.99.0.53", "--", "sh", "-c", LOOKUP],
      timeoutMs: 90_000,
    });
    assert(r.code === 0, `wgcage: ${r.code} ${r.stderr}`);
    assert(r.stdout.includes("options edns0 timeout:2 attempts:2"), r.stdout);
    assert(/rc=2\b/.test(r.stdout), `the lookup did not fail as 'not found': ${r.stdout}`);
    const ms = Number(/ms=(\d+)/.exec(r.stdout)?.[1]);
    // 2 attempts of 2 s; glibc's own 5 s × 2 took 10 s and more.
    assert(ms >= 3000 && ms < 7000, `a dead server's lookup took ${ms} ms: ${r.stdout}`);
    assert(!r.stderr.includes("AllowedIPs"), `a warning for a routed server: ${r.stderr}`);
  } finally {
    await lab.close();
  }
});

Deno.test("cage DNS: a DNS server outside every AllowedIPs gets a warning naming it", async () => {
  requireRoot("The DNS test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("dnsout");
    const { config } = await loopbackPeer(lab, ns);
    const r = await runWgcage(lab, {
      ns,
      args: ["--config", config, "--wg-dns", "192.0.2.53", "--", "true"],
    });
    assert(r.code === 0, `wgcage: ${r.code} ${r.stderr}`);
    assert(
      r.stderr.includes("DNS server 192.0.2.53 is outside every peer's AllowedIPs"),
      `no warning: ${r.stderr}`,
    );
  } finally {
    await lab.close();
  }
});

Deno.test("cage DNS: -v names the DNS server that did not answer, once", async () => {
  requireRoot("The DNS test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("dnsquiet");
    const { config } = await loopbackPeer(lab, ns);
    const r = await runWgcage(lab, {
      ns,
      args: [
        "-v",
        "--config",
        config,
        "--wg-dns",
        "10.99.0.53",
        "--",
        "getent",
        "ahostsv4",
        "nothing.invalid",
      ],
      timeoutMs: 90_000,
    });
    assert(r.code === 2, `getent should fail as 'not found': ${r.code} ${r.stderr}`);
    const named = r.stderr.split("\n").filter((l) =>
      l.includes("DNS server 10.99.0.53 has not answered for 2 s")
    );
    assert(named.length === 1, `the silent server named ${named.length} times: ${r.stderr}`);
  } finally {
    await lab.close();
  }
});
