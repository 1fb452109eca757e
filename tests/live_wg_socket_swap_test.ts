/**
 * `wgcage set` does not hand the stock `wg` a control socket that a caged
 * command put in place of the keeper's. The live cage is kept under one
 * XDG_RUNTIME_DIR; a run started with another one does not cover that
 * directory, and its command replaces NAME.sock with a listener of its own
 * that answers as a keeper would and records what it is sent. `wgcage set
 * NAME private-key FILE` must then refuse in one line (125), and the
 * listener must get nothing: `wg` would have sent it the private key.
 *
 * Rootless (uid 65534). The peer is a wireguard-go in a namespace the test
 * made, reached over that namespace's loopback. Needs root (namespaces, a
 * private TUN node), wireguard-go, wg and python3; every cage, file and
 * namespace is removed.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { cageName } from "./harness/names.ts";
import { generateKeyPair } from "./harness/keys.ts";
import { WgPeer } from "./harness/wg_peer.ts";
import { liveRunner } from "./harness/live.ts";
import { NOBODY, wgQuick } from "./e2e/wgcage.ts";
import { assert } from "./cage/assert.ts";

/** argv[1]: the socket to take over; argv[2]: where to record what it is sent. */
const FAKE_KEEPER = `
import os, socket, sys, time
path, record = sys.argv[1], sys.argv[2]
os.unlink(path)
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(8)
s.settimeout(60)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(5)
    got = b""
    try:
        while not got.endswith(b"\\n\\n"):
            part = c.recv(65536)
            if not part:
                break
            got += part
        c.sendall(b"errno=0\\n\\n")
    except OSError:
        pass
    with open(record, "ab") as f:
        f.write(got)
    c.close()
`;

Deno.test("live cage (nobody): wgcage set refuses a control socket a caged command put in the keeper's place", async () => {
  requireRoot("The control socket swap test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("wg", "wireguard-tools");
  await requireTool("python3", "python3");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("wgswap");
    const keys = await generateKeyPair();
    const newKey = await generateKeyPair();
    const peer = await WgPeer.start(lab, ns, {
      listenPort: 51820,
      addresses: ["10.96.4.1/24"],
      peers: [{ publicKey: keys.publicKey, allowedIps: ["10.96.4.2/32"] }],
    });
    const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "wgc-wgswap-" }));
    lab.defer(() => Deno.remove(dir, { recursive: true }));
    await Deno.chmod(dir, 0o755);
    const config = `${dir}/wg0.conf`;
    const keyFile = `${dir}/new.key`;
    const record = `${dir}/record`;
    const otherRuntime = `${dir}/other-runtime`;
    await Deno.writeTextFile(
      config,
      wgQuick({ privateKey: keys.privateKey, addresses: ["10.96.4.2/24"], dns: ["10.96.4.1"] }, [{
        publicKey: peer.keys.publicKey,
        allowedIps: ["10.96.4.0/24"],
        endpoint: "127.0.0.1:51820",
      }]),
    );
    await Deno.writeTextFile(keyFile, `${newKey.privateKey}\n`);
    await Deno.writeTextFile(record, "");
    await Deno.mkdir(otherRuntime, { mode: 0o700 });
    for (const path of [config, keyFile, record, otherRuntime]) {
      await Deno.chown(path, NOBODY, NOBODY);
      if (path !== otherRuntime) await Deno.chmod(path, 0o600);
    }

    const live = await liveRunner(lab, ns.name, true);
    const name = cageName("swp");
    const up = await live.wgcage(["up", name, "-d", "--config", config]);
    assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
    let fake: Deno.ChildProcess | undefined;
    try {
      const sock = `${live.stateDir}/${name}.sock`;
      // A run under another XDG_RUNTIME_DIR: the cage's state directory is not covered there.
      const argv = live.argv(
        ["--config", config, "--", "python3", "-c", FAKE_KEEPER, sock, record],
        { XDG_RUNTIME_DIR: otherRuntime },
      );
      fake = new Deno.Command("ip", {
        args: ["netns", "exec", ns.name, ...argv],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const reader = fake.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while (!seen.includes("ready\n")) {
        const { value, done } = await reader.read();
        if (done) {
          const err = await new Response(fake.stderr).text();
          throw new Error(`the caged listener ended before taking the socket: ${seen} ${err}`);
        }
        seen += value;
      }
      reader.releaseLock();

      const set = await live.wgcage(["set", name, "private-key", keyFile], { timeoutMs: 30_000 });
      const sent = await Deno.readTextFile(record);
      assert(!sent.includes("private_key"), `wg handed the caged listener: ${sent}`);
      assert(set.code === 125, `set exited ${set.code}: ${set.stderr}`);
      assert(
        /is not served by its keeper here.*nothing was sent to it/.test(set.stderr),
        `set said: ${set.stderr}`,
      );
      assert(set.stderr.trim().split("\n").length === 1, `more than one line: ${set.stderr}`);
    } finally {
      if (fake !== undefined) {
        try {
          fake.kill("SIGTERM");
        } catch {
          // ended already
        }
        await fake.status;
        await fake.stdout.cancel().catch(() => {});
        await fake.stderr.cancel().catch(() => {});
      }
      await live.wgcage(["down", name]);
    }
  } finally {
    await lab.close();
  }
});
