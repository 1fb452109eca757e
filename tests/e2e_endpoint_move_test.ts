/**
 * An endpoint that moves: the peer's Endpoint is a host name (in a private
 * /etc/hosts that only wgcage's mount namespace sees); mid-run the peer moves
 * to a new address on its veth and the name follows it. wgcage looks the
 * name up again once handshakes fail, and the command's traffic resumes
 * without the command restarting.
 *
 * ```
 *   wgc-…-peer                               wgc-…-client
 *   wireguard-go 10.99.0.1/24                 wgcage (rootless), Endpoint = peer.wgcage.test:51820
 *   UDP echo on 10.99.0.1:8082                  └─ cage: a datagram every 100 ms to 10.99.0.1:8082
 *   veth 198.18.n.1/30  → later .5/30  ------  veth 198.18.n.2/30 and .6/30
 * ```
 *
 * Needs root, wireguard-go and wg. Takes about half a minute: WireGuard
 * itself notices a silent peer only after 15 s (KEEPALIVE + REKEY_TIMEOUT).
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { startServices } from "./harness/services.ts";
import {
  NOBODY,
  nobodyDenoDir,
  privateTunNode,
  rootlessArgv,
  wgcageArgv,
  wgQuick,
  writeConfig,
} from "./e2e/wgcage.ts";
import { probeArgv } from "./forward/wgcage_spawn.ts";
import { tunnelLab } from "./forward/tunnel_lab.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const NAME = "peer.wgcage.test";

Deno.test("an endpoint name whose address changes mid-run is followed: traffic resumes, the command never restarts", async () => {
  requireRoot("The endpoint test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("wg", "wireguard-tools");
  const lab = await Lab.open();
  try {
    const { peerNs, clientNs, link, keys, peer } = await tunnelLab(lab);
    const base = link.a.ipv4.replace(/\.1$/, ""); // 198.18.n
    const moved = `${base}.5`;
    await clientNs.ip("addr", "add", `${base}.6/30`, "dev", link.b.ifname);
    await startServices(peerNs, { binds: ["10.99.0.1"] });

    // The /etc/hosts wgcage's lookups see, beside its TUN node, written in
    // place (a bind mount follows the file, not its name).
    const tunDir = await privateTunNode(lab, 0o666);
    const hosts = `${tunDir}/hosts`;
    const writeHosts = async (address: string) => {
      const file = await Deno.open(hosts, { write: true, create: true, truncate: true });
      await file.write(new TextEncoder().encode(`127.0.0.1\tlocalhost\n${address}\t${NAME}\n`));
      file.close();
      await Deno.chmod(hosts, 0o644);
    };
    await writeHosts(link.a.ipv4);

    const config = await writeConfig(
      lab,
      wgQuick({ privateKey: keys.privateKey, addresses: ["10.99.0.2/24"], dns: ["10.99.0.1"] }, [{
        publicKey: peer.keys.publicKey,
        allowedIps: ["10.99.0.0/24"],
        endpoint: `${NAME}:51820`,
      }]),
      NOBODY,
    );
    const denoDir = await nobodyDenoDir(lab);
    const wgcage = clientNs.spawn(rootlessArgv(
      tunDir,
      { DENO_DIR: denoDir, HOME: "/tmp" },
      wgcageArgv(["-v", "--config", config, "--", ...probeArgv("udp-stream", "10.99.0.1:8082")]),
      {
        prelude: [
          'mount --bind "$0/hosts" /etc/hosts',
          // No name service cache may answer from the real /etc/hosts.
          "{ [ ! -d /run/nscd ] || mount -t tmpfs tmpfs /run/nscd; }",
        ].join(" && "),
      },
    ));
    const echoes = () =>
      wgcage.lines.filter((l) => l.startsWith("echo ")).map((l) => Number(l.slice(5)));
    const until = async (what: string, ms: number, done: () => boolean) => {
      const end = Date.now() + ms;
      while (!done()) {
        assert(!wgcage.exited, `wgcage exited while waiting for ${what}: ${wgcage.stderr}`);
        assert(Date.now() < end, `no ${what} within ${ms} ms: ${wgcage.stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until("echoes through the tunnel", 30_000, () => echoes().length >= 5);

    // The peer moves; the name follows.
    await peerNs.ip("addr", "del", `${link.a.ipv4}/30`, "dev", link.a.ifname);
    await peerNs.ip("addr", "add", `${moved}/30`, "dev", link.a.ifname);
    await writeHosts(moved);
    const movedAt = Date.now();
    const lastBefore = Math.max(...echoes());
    // Answers to datagrams sent well after the move: the path works again.
    await until("echo after the move", 90_000, () => echoes().some((s) => s > lastBefore + 20));
    const tookMs = Date.now() - movedAt;
    console.log(`traffic resumed ${(tookMs / 1000).toFixed(1)} s after the move`);
    assert(
      new RegExp(
        `${NAME.replaceAll(".", "\\.")}:51820 now resolves to ${
          moved.replaceAll(".", "\\.")
        }:51820`,
      )
        .test(wgcage.stderr),
      `-v did not show the lookup: ${wgcage.stderr}`,
    );
    const pids = wgcage.lines.filter((l) => l.startsWith("pid "));
    assert(pids.length === 1, `the command started ${pids.length} times: ${wgcage.stdout}`);
    assert(!wgcage.exited, "wgcage ended");
    // Within seconds of WireGuard noticing (15 s) and two unanswered
    // initiations (10 s): well under a minute.
    assert(tookMs < 45_000, `traffic resumed only after ${tookMs} ms`);
    const status = await wgcage.stop("SIGTERM", 10_000);
    assert(status.code === 143, `wgcage exited ${status.code}: ${wgcage.stderr}`);
  } finally {
    await lab.close();
  }
});
