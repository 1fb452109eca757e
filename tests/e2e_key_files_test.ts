/**
 * The files wgcage read keys from are covered in the cage: the command
 * cannot read the private key or a PSK back from the config file,
 * `--wg-private-key-file` or `--wg-psk-file` (named directly or through a
 * symlink), for a run and for a live cage's joined commands, and nothing it
 * writes or removes there reaches the host's file.
 *
 * The peer is a wireguard-go in a namespace the test made, with a PSK,
 * reached over that namespace's loopback. Rootless (uid 65534), as root, and
 * as root under sudo (the command runs as uid 65534).
 * Needs root (namespaces, a private TUN node), wireguard-go and wg; every
 * file, cage and namespace is removed.
 *
 * @module
 */

import { Lab, type Namespace, requireRoot, requireTool } from "./harness/netns.ts";
import { cageName } from "./harness/names.ts";
import type { RunResult } from "./harness/process.ts";
import { generateKeyPair, generatePresharedKey } from "./harness/keys.ts";
import { WgPeer } from "./harness/wg_peer.ts";
import { NOBODY, wgQuick } from "./e2e/wgcage.ts";
import { liveRunner } from "./harness/live.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/**
 * Run in the cage with the paths to try as arguments: each is read, written,
 * appended to and, unless it is a symlink (which the command may remove as
 * any file of the shared file system), removed; `done` ends it. What `cat`
 * printed is on stdout.
 */
const PROBE = [
  "sh",
  "-c",
  `for p in "$@"; do
     echo "== $p"; cat "$p"; echo
     echo overwritten 2>/dev/null > "$p"; echo "write $?"
     echo appended 2>/dev/null >> "$p"; echo "append $?"
     [ -L "$p" ] || { rm -f "$p" 2>/dev/null; echo "rm $?"; }
   done
   echo done`,
  "probe",
];

interface Files {
  dir: string;
  config: string;
  configLink: string;
  key: string;
  keyLink: string;
  psk: string;
  /** The texts that must never reach the command's output. */
  secrets: string[];
  /** Each file's content, to compare after the run. */
  contents: Map<string, string>;
}

/** A peer with a PSK, and the config and key files for a client of it, owned by `owner`. */
async function setUp(
  lab: Lab,
  role: string,
  owner: number,
): Promise<{ ns: Namespace; files: Files; peerKey: string }> {
  const ns = await lab.namespace(role);
  const keys = await generateKeyPair();
  const psk = await generatePresharedKey();
  const peer = await WgPeer.start(lab, ns, {
    listenPort: 51820,
    addresses: ["10.96.0.1/24"],
    peers: [{ publicKey: keys.publicKey, presharedKey: psk, allowedIps: ["10.96.0.2/32"] }],
  });
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "wgc-keyfiles-" }));
  lab.defer(() => Deno.remove(dir, { recursive: true }));
  await Deno.chmod(dir, 0o755);
  const configText = wgQuick({ privateKey: keys.privateKey, addresses: ["10.96.0.2/24"] }, [{
    publicKey: peer.keys.publicKey,
    presharedKey: psk,
    allowedIps: ["10.96.0.0/24"],
    endpoint: "127.0.0.1:51820",
  }]);
  const files: Files = {
    dir,
    config: `${dir}/wg0.conf`,
    configLink: `${dir}/link.conf`,
    key: `${dir}/private.key`,
    keyLink: `${dir}/key-link`,
    psk: `${dir}/psk.key`,
    secrets: [keys.privateKey, psk],
    contents: new Map(),
  };
  for (
    const [path, text] of [
      [files.config, configText],
      [files.key, `${keys.privateKey}\n`],
      [files.psk, `${psk}\n`],
    ]
  ) {
    await Deno.writeTextFile(path, text, { mode: 0o600 });
    await Deno.chmod(path, 0o600);
    if (owner !== 0) await Deno.chown(path, owner, owner);
    files.contents.set(path, text);
  }
  await Deno.symlink(files.config, files.configLink);
  await Deno.symlink(files.key, files.keyLink);
  return { ns, files, peerKey: peer.keys.publicKey };
}

type Mode = "root" | "nobody" | "sudo";

/**
 * wgcage as root; as root under sudo for uid 65534 (SUDO_UID and SUDO_GID,
 * as sudo sets them: the command runs as that user); or as nobody with a
 * private TUN node and runtime directory.
 */
async function runner(
  lab: Lab,
  ns: Namespace,
  mode: Mode,
): Promise<(args: string[]) => Promise<RunResult>> {
  const live = await liveRunner(lab, ns.name, mode === "nobody");
  const env = mode === "sudo" ? { SUDO_UID: `${NOBODY}`, SUDO_GID: `${NOBODY}` } : undefined;
  return (args) => live.wgcage(args, { env });
}

/** The probe's output shows no key, every write and removal failed to reach the host. */
async function assertCovered(r: RunResult, files: Files, paths: string[], what: string) {
  assert(r.code === 0, `${what}: exit ${r.code}: ${r.stderr}`);
  assert(r.stdout.includes("done"), `${what}: the probe did not finish: ${r.stdout}`);
  for (const path of paths) assert(r.stdout.includes(`== ${path}`), `${what}: ${path} not tried`);
  for (const secret of files.secrets) {
    assert(!r.stdout.includes(secret), `${what}: the command read a key: ${r.stdout}`);
    assert(!r.stderr.includes(secret), `${what}: a key in wgcage's messages: ${r.stderr}`);
  }
  // rm fails (the cover is a mount point of the cage's own); the host keeps each file.
  assert(!r.stdout.includes("rm 0"), `${what}: a covered file was removed: ${r.stdout}`);
  for (const [path, text] of files.contents) {
    const now = await Deno.readTextFile(path);
    assert(now === text, `${what}: the host's ${path} changed to: ${now}`);
  }
}

for (const who of ["root", "nobody", "sudo"] as const) {
  // The command runs as 65534 but as root: the files are that user's to read.
  const owner = who === "root" ? 0 : NOBODY;

  Deno.test(`key files (${who}): a run's command reads nothing from the config, key and PSK files, given directly or through a symlink`, async () => {
    requireRoot("The key files test");
    await requireTool("wireguard-go", "wireguard-go");
    await requireTool("wg", "wireguard-tools");
    const lab = await Lab.open();
    try {
      const { ns, files, peerKey } = await setUp(lab, `keyf${who[0]}`, owner);
      const wgcage = await runner(lab, ns, who);
      // The config file through a symlink: its PrivateKey and PresharedKey. With
      // -v, whose lines name what is covered, and must show no key.
      const paths = [files.config, files.configLink];
      const byConfig = await wgcage(["-v", "--config", files.configLink, "--", ...PROBE, ...paths]);
      assert(/hiding \d+ host paths? from the cage/.test(byConfig.stderr), byConfig.stderr);
      await assertCovered(byConfig, files, paths, "--config");

      // The key and PSK files as flags, the key through a symlink.
      const byFlags = await wgcage([
        "--wg-private-key-file",
        files.keyLink,
        "--wg-psk-file",
        files.psk,
        "--wg-public-key",
        peerKey,
        "--wg-endpoint",
        "127.0.0.1:51820",
        "--wg-address",
        "10.96.0.2/24",
        "--wg-allowed-ips",
        "10.96.0.0/24",
        "--",
        ...PROBE,
        files.key,
        files.keyLink,
        files.psk,
      ]);
      await assertCovered(byFlags, files, [files.key, files.keyLink, files.psk], "key flags");
      // A file wgcage did not read stays as it is: the cover is for key files only.
      const other = `${files.dir}/notes.txt`;
      await Deno.writeTextFile(other, "plain\n", { mode: 0o644 });
      if (owner !== 0) await Deno.chown(other, owner, owner);
      const plain = await wgcage(["--config", files.config, "--", "cat", other]);
      assert(plain.code === 0 && plain.stdout === "plain\n", `notes.txt: ${plain.stdout}`);
    } finally {
      await lab.close();
    }
  });

  Deno.test(`key files (${who}): a live cage's joined commands read nothing from its config file`, async () => {
    requireRoot("The key files test");
    await requireTool("wireguard-go", "wireguard-go");
    const lab = await Lab.open();
    try {
      const { ns, files } = await setUp(lab, `keyl${who[0]}`, owner);
      const wgcage = await runner(lab, ns, who);
      const name = cageName(`kf${who[0]}`);
      const up = await wgcage(["up", name, "-d", "--config", files.configLink]);
      assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
      try {
        const paths = [files.config, files.configLink];
        const joined = await wgcage(["exec", name, "--", ...PROBE, ...paths]);
        await assertCovered(joined, files, paths, "exec");
      } finally {
        const down = await wgcage(["down", name]);
        assert(down.code === 0, `down exited ${down.code}: ${down.stderr}`);
      }
    } finally {
      await lab.close();
    }
  });
}
