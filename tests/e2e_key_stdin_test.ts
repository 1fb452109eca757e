/**
 * A key file given on standard input stays out of the command's reach: after
 * `--config - < wg0.conf`, `--config /dev/stdin < wg0.conf` or
 * `--wg-private-key-file /dev/stdin < private.key`, the command's stdin is
 * /dev/null, so it can neither seek back to the start of the file wgcage read
 * nor open it again through /proc/self/fd/0 (which passes by the cover on the
 * file's path). A stdin that holds no key still reaches the command.
 *
 * The peer is a wireguard-go in a namespace the test made, reached over that
 * namespace's loopback. As root, as nobody (rootless), and as root under sudo
 * (SUDO_UID/SUDO_GID: the command runs as uid 65534). Needs root
 * (namespaces, a private TUN node), wireguard-go, wg and python3; every file,
 * cage and namespace is removed.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { run } from "./harness/process.ts";
import { generateKeyPair, generatePresharedKey } from "./harness/keys.ts";
import { WgPeer } from "./harness/wg_peer.ts";
import { liveRunner } from "./harness/live.ts";
import { NOBODY, wgQuick } from "./e2e/wgcage.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Reads stdin again through /proc, then seeks it back to 0 and reads it. */
const PROBE = [
  "python3",
  "-c",
  `import os
print("reopened:", open("/proc/self/fd/0").read())
try:
    os.lseek(0, 0, os.SEEK_SET)
    print("rewound:", os.read(0, 4096).decode())
except OSError as e:
    print("rewound: error", e.errno)
print("done")`,
];

for (const who of ["root", "nobody", "sudo"] as const) {
  Deno.test(`key on stdin (${who}): the command cannot read back the config or key file wgcage read from its stdin`, async () => {
    requireRoot("The key-on-stdin test");
    await requireTool("wireguard-go", "wireguard-go");
    await requireTool("wg", "wireguard-tools");
    await requireTool("python3", "python3");
    const lab = await Lab.open();
    try {
      const ns = await lab.namespace(`kstd${who[0]}`);
      const keys = await generateKeyPair();
      const psk = await generatePresharedKey();
      const peer = await WgPeer.start(lab, ns, {
        listenPort: 51820,
        addresses: ["10.96.1.1/24"],
        peers: [{ publicKey: keys.publicKey, presharedKey: psk, allowedIps: ["10.96.1.2/32"] }],
      });
      const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "wgc-keystdin-" }));
      lab.defer(() => Deno.remove(dir, { recursive: true }));
      await Deno.chmod(dir, 0o755);
      const config = `${dir}/wg0.conf`;
      const key = `${dir}/private.key`;
      const pskFile = `${dir}/psk.key`;
      const data = `${dir}/data.txt`;
      const texts: [string, string][] = [
        [
          config,
          wgQuick({ privateKey: keys.privateKey, addresses: ["10.96.1.2/24"] }, [{
            publicKey: peer.keys.publicKey,
            presharedKey: psk,
            allowedIps: ["10.96.1.0/24"],
            endpoint: "127.0.0.1:51820",
          }]),
        ],
        [key, `${keys.privateKey}\n`],
        [pskFile, `${psk}\n`],
        [data, "not a secret\n"],
      ];
      for (const [path, text] of texts) {
        await Deno.writeTextFile(path, text, { mode: 0o600 });
        await Deno.chmod(path, 0o600);
        if (who !== "root") await Deno.chown(path, NOBODY, NOBODY);
      }
      const live = await liveRunner(lab, ns.name, who === "nobody");
      const env = who === "sudo" ? { SUDO_UID: `${NOBODY}`, SUDO_GID: `${NOBODY}` } : undefined;
      // stdin redirected from a file, as a shell's `< FILE` does (not a pipe).
      const withStdin = (file: string, args: string[]) =>
        run(["sh", "-c", 'f=$1; shift; exec "$@" < "$f"', "sh", file, ...live.argv(args, env)], {
          ns: ns.name,
          allowFailure: true,
          timeoutMs: 60_000,
        });
      const flags = [
        "--wg-public-key",
        peer.keys.publicKey,
        "--wg-endpoint",
        "127.0.0.1:51820",
        "--wg-address",
        "10.96.1.2/24",
        "--wg-allowed-ips",
        "10.96.1.0/24",
        "--wg-dns",
        "10.96.1.1",
        "--wg-psk-file",
        pskFile,
      ];
      const cases: [string, string, string[]][] = [
        ["--config -", config, ["--config", "-"]],
        ["--config /dev/stdin", config, ["--config", "/dev/stdin"]],
        ["--wg-private-key-file /dev/stdin", key, [
          "--wg-private-key-file",
          "/dev/stdin",
          ...flags,
        ]],
      ];
      for (const [what, file, args] of cases) {
        const r = await withStdin(file, [...args, "--", ...PROBE]);
        assert(r.code === 0, `${what}: exit ${r.code}: ${r.stderr}`);
        assert(r.stdout.includes("done"), `${what}: the probe did not finish: ${r.stdout}`);
        for (const secret of [keys.privateKey, psk]) {
          assert(!r.stdout.includes(secret), `${what}: the command read a key: ${r.stdout}`);
        }
      }
      // A stdin that holds no key is the command's, as before.
      const plain = await withStdin(data, ["--config", config, "--", ...PROBE]);
      assert(plain.code === 0, `plain stdin: exit ${plain.code}: ${plain.stderr}`);
      assert(plain.stdout.includes("rewound: not a secret"), `plain stdin: ${plain.stdout}`);
    } finally {
      await lab.close();
    }
  });
}
