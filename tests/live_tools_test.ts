/**
 * The live cage tools as a new user meets them, with the stock `wg`:
 * `syncconf` of the file the cage started from (no ListenPort), malformed
 * keys refused in one redacted line before `wg` reads them, `wg`'s own
 * failures as one wgcage line (125), a PATH without `wg`, a foreground `up`
 * ended by `wgcage down`, and a joined command that `down` stopped.
 *
 *     test namespace (loopback only)
 *       wireguard-go  10.91.0.1/24  udp 51820  ── peer of the cage
 *       the keeper    cage 10.91.0.2
 *
 * Needs root, wireguard-go and wg.
 *
 * @module
 */

import { Lab, type Namespace, requireRoot, requireTool } from "./harness/netns.ts";
import { cageName } from "./harness/names.ts";
import { run, type RunResult, waitUntil } from "./harness/process.ts";
import { generatePresharedKey } from "./harness/keys.ts";
import { livePeer } from "./harness/live.ts";
import { wgcageArgv } from "./e2e/wgcage.ts";
import { assert } from "./cage/assert.ts";

/** The peer of the cage: wireguard-go at 10.91.0.1, the cage at 10.91.0.2. */
function setup(lab: Lab, role: string) {
  return livePeer(lab, role, 0, "10.91.0");
}

function wgcage(ns: Namespace, args: string[], env?: Record<string, string>): Promise<RunResult> {
  const argv = env === undefined ? wgcageArgv(args) : [
    "env",
    ...Object.entries(env).map(
      ([k, v]) => `${k}=${v}`,
    ),
    ...wgcageArgv(args),
  ];
  return run(argv, { ns: ns.name, allowFailure: true, timeoutMs: 60_000 });
}

/** Fails when `text` shows 10 or more characters in a row of `secret`. */
function assertNoFragment(text: string, secret: string, what: string): void {
  for (let at = 0; at + 10 <= secret.length; at++) {
    const piece = secret.slice(at, at + 10);
    assert(!text.includes(piece), `${what} shows part of a secret (${piece}): ${text}`);
  }
}

/** One line on stderr, nothing on stdout, exit 125. */
function assertOneLine125(r: RunResult, what: string): void {
  assert(r.code === 125, `${what}: exit ${r.code}, stderr ${r.stderr}`);
  assert(r.stderr.trim().split("\n").length === 1, `${what}: not one line: ${r.stderr}`);
  assert(r.stderr.startsWith("wgcage: "), `${what}: not wgcage's line: ${r.stderr}`);
}

async function secretFile(lab: Lab, name: string, text: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "wgc-tools-" });
  lab.defer(() => Deno.remove(dir, { recursive: true }));
  await Deno.writeTextFile(`${dir}/${name}`, text, { mode: 0o600 });
  return `${dir}/${name}`;
}

Deno.test("live tools (root): syncconf of the file the cage started from works (wgcage and stock wg); bad keys and wg's failures are one redacted line, 125", async () => {
  requireRoot("The live tools test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("wg", "wireguard-tools");
  const lab = await Lab.open();
  const name = cageName("ls");
  try {
    const { ns, keys, a: peer, config } = await setup(lab, "livesync");
    const up = await wgcage(ns, ["up", name, "-d", "--config", config]);
    assert(up.code === 0, `up -d: ${up.stderr}`);
    try {
      // The wg-quick file the cage started from, no ListenPort: the port stays.
      const sync = await wgcage(ns, ["syncconf", name, config]);
      assert(sync.code === 0, `syncconf of its own file: ${sync.code} ${sync.stderr}`);
      const plain = await secretFile(
        lab,
        "plain.conf",
        `[Interface]\nPrivateKey = ${keys.privateKey}\n[Peer]\nPublicKey = ${peer.keys.publicKey}\n` +
          "AllowedIPs = 10.91.0.0/24\nEndpoint = 127.0.0.1:51820\n",
      );
      // In the keeper's network namespace: its control socket serves no other.
      const stock = await run(["wg", "syncconf", name, plain], { ns: ns.name, allowFailure: true });
      assert(stock.code === 0, `stock wg syncconf: ${stock.stderr}`);

      // A private key one character short, in a key file and in a config.
      const short = keys.privateKey.slice(0, 43);
      const keyFile = await secretFile(lab, "short.key", `${short}\n`);
      const set = await wgcage(ns, ["set", name, "private-key", keyFile]);
      assertOneLine125(set, "set private-key (43 characters)");
      assertNoFragment(set.stderr, keys.privateKey, "set private-key");
      assert(set.stderr.includes("private-key file"), set.stderr);

      // A PresharedKey with a character too many, in a config for syncconf.
      const psk = await generatePresharedKey();
      const badConf = await secretFile(
        lab,
        "psk.conf",
        `[Interface]\nPrivateKey = ${keys.privateKey}\n[Peer]\nPublicKey = ${peer.keys.publicKey}\n` +
          `PresharedKey = ${psk}x\nAllowedIPs = 10.91.0.0/24\n`,
      );
      const bad = await wgcage(ns, ["syncconf", name, badConf]);
      assertOneLine125(bad, "syncconf with a malformed PresharedKey");
      assertNoFragment(bad.stderr, psk, "syncconf");
      assertNoFragment(bad.stderr, keys.privateKey, "syncconf");
      assert(/psk\.conf:5: PresharedKey/.test(bad.stderr), bad.stderr);
      const viaWg = await wgcage(ns, ["wg", name, "syncconf", badConf]);
      assertOneLine125(viaWg, "wgcage wg syncconf with a malformed PresharedKey");
      assertNoFragment(viaWg.stderr, psk, "wgcage wg syncconf");

      // A preshared key on stdin, 43 characters.
      const stdinSet = await run(
        wgcageArgv(["set", name, "peer", peer.keys.publicKey, "preshared-key", "/dev/stdin"]),
        { ns: ns.name, stdin: psk.slice(0, 43) + "\n", allowFailure: true },
      );
      assertOneLine125(stdinSet, "set preshared-key /dev/stdin (43 characters)");
      assertNoFragment(stdinSet.stderr, psk, "set preshared-key /dev/stdin");
      // ...and a good one on stdin reaches the cage.
      const goodStdin = await run(
        wgcageArgv(["set", name, "peer", peer.keys.publicKey, "preshared-key", "/dev/stdin"]),
        { ns: ns.name, stdin: psk + "\n", allowFailure: true },
      );
      assert(goodStdin.code === 0, `set preshared-key /dev/stdin: ${goodStdin.stderr}`);
      const dump = await run(["wg", "show", name, "preshared-keys"], { ns: ns.name });
      assert(dump.stdout.includes(psk), `the preshared key did not arrive: ${dump.stdout}`);

      // The device refuses (another port): wg's failure as wgcage's one line.
      const port = await wgcage(ns, ["set", name, "listen-port", "1"]);
      assertOneLine125(port, "set listen-port 1");
      assert(/Address already in use/.test(port.stderr), port.stderr);
      const usage = await wgcage(ns, ["set", name, "bogus-word"]);
      assertOneLine125(usage, "set bogus-word");

      // Without wg (and unshare) on PATH: one line naming what to install.
      const noWg = await wgcage(ns, ["syncconf", name, config], { PATH: "/nonexistent" });
      assertOneLine125(noWg, "syncconf without wg on PATH");
      assert(noWg.stderr.includes("'wg'") && noWg.stderr.includes("wireguard-tools"), noWg.stderr);
    } finally {
      await wgcage(ns, ["down", name]);
    }
  } finally {
    await lab.close();
  }
});

Deno.test("live tools (root): a foreground up ended by 'wgcage down' or timeout's SIGTERM exits 0 without alarm", async () => {
  requireRoot("The live tools test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const { ns, config } = await setup(lab, "livedown");
    for (const how of ["down", "SIGTERM"]) {
      const name = cageName("lf");
      const keeper = ns.spawn(wgcageArgv(["up", name, "--config", config]));
      await waitUntil(
        () => keeper.stderr.includes("is up") || keeper.exited,
        `the foreground cage to come up: ${keeper.stderr}`,
        30_000,
      );
      assert(!keeper.exited, `up ended early: ${keeper.stderr}`);
      if (how === "down") {
        const down = await wgcage(ns, ["down", name]);
        assert(down.code === 0, `down: ${down.stderr}`);
      } else {
        keeper.signal("SIGTERM");
      }
      const status = await keeper.status;
      assert(status.code === 0, `up after ${how}: exit ${status.code}: ${keeper.stderr}`);
      assert(!keeper.stderr.includes("unexpectedly"), `up after ${how}: ${keeper.stderr}`);
    }
  } finally {
    await lab.close();
  }
});

Deno.test("live tools (root): a command joined to a cage that 'wgcage down' ended gets one line saying so, and the status of the kill (137)", async () => {
  requireRoot("The live tools test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  const name = cageName("le");
  try {
    const { ns, config } = await setup(lab, "liveend");
    const up = await wgcage(ns, ["up", name, "-d", "--config", config]);
    assert(up.code === 0, `up -d: ${up.stderr}`);
    const joined = ns.spawn(
      wgcageArgv(["exec", name, "--", "sh", "-c", "echo ready; exec sleep 60"]),
    );
    try {
      await joined.waitForLine("ready", 30_000);
      const down = await wgcage(ns, ["down", name]);
      assert(down.code === 0, `down: ${down.stderr}`);
      const status = await joined.status;
      assert(status.code === 137, `exec after down: exit ${status.code}: ${joined.stderr}`);
      const lines = joined.stderr.trim().split("\n");
      assert(
        lines.length === 1 && lines[0].startsWith(`wgcage: the cage '${name}' was ended`),
        `exec after down: ${joined.stderr}`,
      );
      assert(lines[0].includes("wgcage down"), lines[0]);
    } finally {
      await joined.stop("SIGKILL", 100).catch(() => {});
      await wgcage(ns, ["down", name]);
    }
  } finally {
    await lab.close();
  }
});
