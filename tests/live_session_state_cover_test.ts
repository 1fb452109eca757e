/**
 * A run started without XDG_RUNTIME_DIR (cron, su, a service: its own state
 * is in /tmp/wgcage-UID) does not reach the live cages its user brought up
 * from a login session, kept in /run/user/UID/wgcage. Were that directory
 * open to the command, it could replace NAME.sock with a socket of its own,
 * and the next `wgcage set`/`syncconf`, which run the stock `wg` on that
 * path, would hand it the keys.
 *
 * Rootless, as a throwaway user (its /run/user/UID is made and removed
 * here). The peer is a wireguard-go in a namespace the test made, reached
 * over that namespace's loopback. Needs root (namespaces, useradd, a private
 * TUN node) and wireguard-go; every cage, user, file and namespace is
 * removed.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { cageName } from "./harness/names.ts";
import { generateKeyPair } from "./harness/keys.ts";
import { WgPeer } from "./harness/wg_peer.ts";
import { liveRunner } from "./harness/live.ts";
import { wgQuick } from "./e2e/wgcage.ts";
import { makeTestUser } from "./cage/test_user.ts";
import { assert } from "./cage/assert.ts";

Deno.test("live cages (rootless): a run without XDG_RUNTIME_DIR does not reach the login session's state directory", async () => {
  requireRoot("The session state directory test");
  await requireTool("wireguard-go", "wireguard-go");
  const user = await makeTestUser();
  const lab = await Lab.open();
  const session = `/run/user/${user.uid}`;
  try {
    // /run/user as logind makes it (0755), where the machine has none yet.
    const runUser = await Deno.stat("/run/user").catch(() => undefined);
    if (runUser === undefined) {
      await Deno.mkdir("/run/user", { mode: 0o755 });
      await Deno.chmod("/run/user", 0o755);
      lab.defer(() => Deno.remove("/run/user", { recursive: true }));
    }
    await Deno.mkdir(session, { mode: 0o700 });
    lab.defer(() => Deno.remove(session, { recursive: true }));
    await Deno.chown(session, user.uid, user.gid);
    await Deno.chmod(session, 0o700);
    const denoDir = await Deno.makeTempDir({ prefix: "wgc-denodir-" });
    lab.defer(() => Deno.remove(denoDir, { recursive: true }));
    await Deno.chown(denoDir, user.uid, user.gid);

    const ns = await lab.namespace("sescov");
    const keys = await generateKeyPair();
    const peer = await WgPeer.start(lab, ns, {
      listenPort: 51820,
      addresses: ["10.96.2.1/24"],
      peers: [{ publicKey: keys.publicKey, allowedIps: ["10.96.2.2/32"] }],
    });
    const dir = await Deno.makeTempDir({ prefix: "wgc-sescov-" });
    lab.defer(() => Deno.remove(dir, { recursive: true }));
    await Deno.chmod(dir, 0o755);
    const config = `${dir}/wg0.conf`;
    await Deno.writeTextFile(
      config,
      wgQuick({ privateKey: keys.privateKey, addresses: ["10.96.2.2/24"], dns: ["10.96.2.1"] }, [{
        publicKey: peer.keys.publicKey,
        allowedIps: ["10.96.2.0/24"],
        endpoint: "127.0.0.1:51820",
      }]),
      { mode: 0o600 },
    );
    await Deno.chown(config, user.uid, user.gid);

    const live = await liveRunner(lab, ns.name, true, user.uid);
    const name = cageName("ses");
    const up = await live.wgcage(["up", name, "-d", "--config", config], {
      env: { DENO_DIR: denoDir, XDG_RUNTIME_DIR: session },
    });
    assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
    try {
      const state = `${session}/wgcage`;
      const host = [...Deno.readDirSync(state)].map((e) => e.name).sort();
      assert(host.includes(`${name}.sock`), `the cage is not in ${state}: ${host.join(" ")}`);
      // An empty XDG_RUNTIME_DIR is as none: this run's state is /tmp/wgcage-UID.
      const probe = await live.wgcage([
        "--config",
        config,
        "--",
        "sh",
        "-c",
        `echo "list [$(ls -A "$0" 2>&1 | tr '\\n' ' ')]"; touch "$0/planted" 2>/dev/null; echo done`,
        state,
      ], { env: { DENO_DIR: denoDir, XDG_RUNTIME_DIR: "" } });
      assert(probe.code === 0, `the run exited ${probe.code}: ${probe.stderr}`);
      assert(probe.stdout.includes("done"), `the probe did not finish: ${probe.stdout}`);
      assert(probe.stdout.includes("list []"), `the run's command saw ${state}: ${probe.stdout}`);
      const after = [...Deno.readDirSync(state)].map((e) => e.name).sort();
      assert(!after.includes("planted"), `the run's command wrote into ${state}`);
    } finally {
      const down = await live.wgcage(["down", name], {
        env: { DENO_DIR: denoDir, XDG_RUNTIME_DIR: session },
      });
      assert(down.code === 0, `down exited ${down.code}: ${down.stderr}`);
    }
  } finally {
    await lab.close();
    await user.remove();
  }
});
