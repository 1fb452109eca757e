/**
 * What 'wgcage help cage' says about capturing the tunnel's packets with
 * tcpdump in a --root cage, checked: as root, `tcpdump -i wg0` captures; as
 * root under sudo (SUDO_UID/SUDO_GID, the cage maps only that user's ids),
 * tcpdump's switch to its own user fails and `tcpdump -Z root -i wg0`
 * captures.
 *
 *     test namespace (loopback only)
 *       wireguard-go  10.99.0.1/24  udp 51820  ── the cage's peer
 *       the cage      10.99.0.2, pings 10.99.0.1 while tcpdump listens on wg0
 *
 * Needs root, wireguard-go and tcpdump.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { loopbackPeer, NOBODY, runWgcage } from "./e2e/wgcage.ts";
import { helpText } from "../src/cli/usage.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** tcpdump with `flags` on wg0 for one packet, while the cage pings the peer. */
function capture(flags: string): string[] {
  return [
    "sh",
    "-c",
    `timeout 10 tcpdump ${flags} -i wg0 -c 1 -n icmp 2>&1 & sleep 1; ` +
    "ping -c 3 -i 0.3 -W 1 10.99.0.1 >/dev/null; wait",
  ];
}

const CAPTURED = /1 packet captured/;

Deno.test("tcpdump in a --root cage: as root it captures; under sudo only with -Z root, as help cage says", async () => {
  requireRoot("The tcpdump test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("tcpdump", "tcpdump");
  const help = helpText("cage") ?? "";
  assert(help.includes("'tcpdump -Z root -i wg0'"), `help cage: ${help}`);
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("tcpdump");
    const { config } = await loopbackPeer(lab, ns);
    const args = (flags: string) => ["--root", "--config", config, "--", ...capture(flags)];

    const root = await runWgcage(lab, { ns, args: args("") });
    assert(root.code === 0 && CAPTURED.test(root.stdout), `as root: ${root.code} ${root.stdout}`);

    const sudo = { SUDO_UID: `${NOBODY}`, SUDO_GID: `${NOBODY}` };
    const plain = await runWgcage(lab, { ns, args: args(""), env: sudo });
    assert(
      !CAPTURED.test(plain.stdout) && /Couldn't change to 'tcpdump'/.test(plain.stdout),
      `under sudo without -Z: ${plain.code} ${plain.stdout}`,
    );
    const z = await runWgcage(lab, { ns, args: args("-Z root"), env: sudo });
    assert(z.code === 0 && CAPTURED.test(z.stdout), `under sudo, -Z root: ${z.code} ${z.stdout}`);
  } finally {
    await lab.close();
  }
});
