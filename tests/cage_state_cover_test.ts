/**
 * No caged command reaches a live cage's control socket or record: the
 * state directory ($XDG_RUNTIME_DIR/wgcage, /run/wgcage as root) is covered
 * in every cage, a run's and a live cage's alike, and so, as root, is
 * /var/run/wireguard, where the keeper links NAME.sock for the stock `wg`.
 *
 * Two live cages of one user and a run: the run, started before the state
 * directory existed and before either live cage came up, and a command
 * joined to each live cage try to connect to the other's NAME.sock, read
 * its NAME.json and list the directories. The peer is one wireguard-go in a
 * namespace the test made, reached over that namespace's loopback.
 * Rootless (uid 65534) and as root. Needs root, wireguard-go and socat;
 * every cage, file and namespace is removed.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { cageName } from "./harness/names.ts";
import { run, type RunResult } from "./harness/process.ts";
import { generateKeyPair, type KeyPair } from "./harness/keys.ts";
import { WgPeer } from "./harness/wg_peer.ts";
import { NOBODY, wgQuick } from "./e2e/wgcage.ts";
import { liveRunner } from "./harness/live.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/**
 * Says `started` and waits for `$0` to exist (when given), then, for each
 * path: a connect to it as a unix socket, a read of it, and a listing when
 * it is a directory.
 */
const PROBE = [
  "sh",
  "-c",
  `if [ -n "$0" ]; then echo started; i=0; until [ -e "$0" ] || [ $i -ge 600 ]; do i=$((i+1)); sleep 0.1; done; fi
   for p in "$@"; do
     if [ -d "$p" ]; then echo "list $p [$(ls -A "$p" | tr '\\n' ' ')]"; continue; fi
     if socat -u OPEN:/dev/null UNIX-CONNECT:"$p" 2>/dev/null; then echo "reached $p"; else echo "refused $p"; fi
     if [ -s "$p" ]; then echo "read $p"; fi
   done
   echo done`,
];

/** A client config of the peer, readable by `owner`. */
async function clientConfig(
  dir: string,
  name: string,
  keys: KeyPair,
  address: string,
  peer: WgPeer,
  owner: number,
): Promise<string> {
  const path = `${dir}/${name}.conf`;
  const text = wgQuick({ privateKey: keys.privateKey, addresses: [`${address}/24`] }, [{
    publicKey: peer.keys.publicKey,
    allowedIps: ["10.95.0.0/24"],
    endpoint: "127.0.0.1:51820",
  }]);
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  if (owner !== 0) await Deno.chown(path, owner, owner);
  return path;
}

function assertUnreachable(r: RunResult, what: string, sockets: string[], dirs: string[]): void {
  assert(r.code === 0, `${what}: exit ${r.code}: ${r.stderr}`);
  assert(r.stdout.includes("done"), `${what}: the probe did not finish: ${r.stdout}`);
  for (const s of sockets) {
    assert(r.stdout.includes(`refused ${s}`), `${what}: ${s} was reachable: ${r.stdout}`);
  }
  assert(!r.stdout.includes("read "), `${what}: a record was read: ${r.stdout}`);
  for (const d of dirs) {
    assert(r.stdout.includes(`list ${d} []`), `${what}: ${d} is not empty: ${r.stdout}`);
  }
}

for (const rootless of [false, true]) {
  const who = rootless ? "nobody" : "root";
  Deno.test(`state cover (${who}): no run's or joined command reaches another live cage's control socket or record`, async () => {
    requireRoot("The state cover test");
    await requireTool("wireguard-go", "wireguard-go");
    await requireTool("socat", "socat");
    const lab = await Lab.open();
    try {
      const ns = await lab.namespace(`stc${who[0]}`);
      const [a, b, c] = [await generateKeyPair(), await generateKeyPair(), await generateKeyPair()];
      const peer = await WgPeer.start(lab, ns, {
        listenPort: 51820,
        addresses: ["10.95.0.1/24"],
        peers: [
          { publicKey: a.publicKey, allowedIps: ["10.95.0.2/32"] },
          { publicKey: b.publicKey, allowedIps: ["10.95.0.3/32"] },
          { publicKey: c.publicKey, allowedIps: ["10.95.0.4/32"] },
        ],
      });
      const dir = await Deno.makeTempDir({ prefix: "wgc-stcover-" });
      lab.defer(() => Deno.remove(dir, { recursive: true }));
      await Deno.chmod(dir, 0o755);
      const owner = rootless ? NOBODY : 0;
      const w = await liveRunner(lab, ns.name, rootless);
      const nameA = cageName(`sa${who[0]}`);
      const nameB = cageName(`sb${who[0]}`);
      const sockA = `${w.stateDir}/${nameA}.sock`;
      const sockB = `${w.stateDir}/${nameB}.sock`;
      const records = [`${w.stateDir}/${nameA}.json`, `${w.stateDir}/${nameB}.json`];
      const links = rootless ? [] : [`/var/run/wireguard/${nameA}.sock`];
      const dirs = rootless ? [w.stateDir] : [w.stateDir, "/var/run/wireguard"];
      const flag = `${dir}/both-up`;

      // A run that starts first (a rootless user's state directory does not
      // exist yet) and probes once both live cages are up.
      const early = lab.spawn(
        w.argv([
          "--config",
          await clientConfig(dir, "c", c, "10.95.0.4", peer, owner),
          "--",
          ...PROBE,
          flag,
          sockA,
          sockB,
          ...records,
          ...links,
          ...dirs,
        ]),
        { ns },
      );
      await early.waitForLine("started", 60_000);
      assert(Deno.statSync(w.stateDir).isDirectory, "the run did not make the state directory");
      const up = async (name: string, config: string) => {
        const r = await w.wgcage(["up", name, "-d", "--config", config]);
        assert(r.code === 0, `up ${name} exited ${r.code}: ${r.stderr}`);
        lab.defer(() =>
          run(w.argv(["down", name]), { ns: ns.name, allowFailure: true }).then(() => {})
        );
      };
      await up(nameA, await clientConfig(dir, "a", a, "10.95.0.2", peer, owner));
      await up(nameB, await clientConfig(dir, "b", b, "10.95.0.3", peer, owner));
      // The sockets are there, and reachable from the host.
      for (const sock of [sockA, sockB, ...links]) {
        const host = await run(["socat", "-u", "OPEN:/dev/null", `UNIX-CONNECT:${sock}`], {
          allowFailure: true,
        });
        assert(host.code === 0, `${sock} is not reachable from the host: ${host.stderr}`);
      }
      await Deno.writeTextFile(flag, "");
      const { code } = await early.status;
      const earlyRun = { code, stdout: early.stdout, stderr: early.stderr } as RunResult;
      assertUnreachable(earlyRun, "a run", [sockA, sockB, ...links], dirs);

      // A command joined to A (made before B) and one joined to B (made after A).
      for (const [name, other] of [[nameA, sockB], [nameB, sockA]]) {
        const joined = await w.wgcage([
          "exec",
          name,
          "--",
          ...PROBE,
          "",
          other,
          ...records,
          ...links,
          ...dirs,
        ]);
        assertUnreachable(joined, `exec ${name}`, [other, ...links], dirs);
      }
    } finally {
      await lab.close();
    }
  });
}
