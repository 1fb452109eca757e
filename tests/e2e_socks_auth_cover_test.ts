/**
 * The login file of `--socks-auth` is covered in the cage as the key files
 * are: the command reads it as empty, for a run and for a live cage's
 * joined commands, and the host's file is untouched. Its password lets a
 * client use the tunnel through the proxy, and is often one used elsewhere.
 * Given on stdin (`--socks-auth /dev/stdin < login`, or the file's path with
 * stdin redirected from it), the command's stdin is /dev/null, so it cannot
 * read the login there either.
 *
 * The peer is a wireguard-go in a namespace the test made, reached over that
 * namespace's loopback; the proxy listens on that namespace's loopback. As
 * root and as nobody (rootless). Needs root (namespaces, a private TUN node)
 * and wireguard-go; every file, cage and namespace is removed.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { run } from "./harness/process.ts";
import { cageName } from "./harness/names.ts";
import { generateKeyPair } from "./harness/keys.ts";
import { WgPeer } from "./harness/wg_peer.ts";
import { liveRunner } from "./harness/live.ts";
import { NOBODY, wgQuick } from "./e2e/wgcage.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const LOGIN = "proxyuser:Zq8sV1nB4xLw0pRt\n";

for (const who of ["root", "nobody"] as const) {
  Deno.test(`socks auth (${who}): the --socks-auth file reads as empty in the cage`, async () => {
    requireRoot("The --socks-auth cover test");
    await requireTool("wireguard-go", "wireguard-go");
    const lab = await Lab.open();
    try {
      const ns = await lab.namespace(`sauth${who[0]}`);
      const keys = await generateKeyPair();
      const peer = await WgPeer.start(lab, ns, {
        listenPort: 51820,
        addresses: ["10.96.3.1/24"],
        peers: [{ publicKey: keys.publicKey, allowedIps: ["10.96.3.2/32"] }],
      });
      const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "wgc-sauth-" }));
      lab.defer(() => Deno.remove(dir, { recursive: true }));
      await Deno.chmod(dir, 0o755);
      const config = `${dir}/wg0.conf`;
      const login = `${dir}/socks.login`;
      const texts: [string, string][] = [
        [
          config,
          wgQuick(
            { privateKey: keys.privateKey, addresses: ["10.96.3.2/24"], dns: ["10.96.3.1"] },
            [{
              publicKey: peer.keys.publicKey,
              allowedIps: ["10.96.3.0/24"],
              endpoint: "127.0.0.1:51820",
            }],
          ),
        ],
        [login, LOGIN],
      ];
      for (const [path, text] of texts) {
        await Deno.writeTextFile(path, text, { mode: 0o600 });
        await Deno.chmod(path, 0o600);
        if (who !== "root") await Deno.chown(path, NOBODY, NOBODY);
      }
      const live = await liveRunner(lab, ns.name, who === "nobody");
      const proxy = ["--socks", "127.0.0.1:11080", "--socks-auth", login];
      const probe = ["sh", "-c", 'echo "[$(cat "$0")]"; echo done', login];

      const ran = await live.wgcage(["--config", config, ...proxy, "--", ...probe]);
      assert(ran.code === 0, `run: exit ${ran.code}: ${ran.stderr}`);
      assert(ran.stdout.includes("[]\ndone"), `run: the command read the login: ${ran.stdout}`);

      // stdin redirected from the login, as a shell's `< FILE` does.
      const readStdin = ["sh", "-c", 'echo "[$(cat)]"; echo done'];
      for (const given of [login, "/dev/stdin"]) {
        const args = ["--config", config, ...proxy.slice(0, 3), given, "--", ...readStdin];
        const r = await run(
          ["sh", "-c", 'f=$1; shift; exec "$@" < "$f"', "sh", login, ...live.argv(args)],
          { ns: ns.name, allowFailure: true, timeoutMs: 60_000 },
        );
        assert(r.code === 0, `--socks-auth ${given} < login: exit ${r.code}: ${r.stderr}`);
        assert(
          r.stdout.includes("[]\ndone"),
          `--socks-auth ${given} < login: the command read the login on its stdin: ${r.stdout}`,
        );
      }

      const name = cageName(`sa${who[0]}`);
      const up = await live.wgcage(["up", name, "-d", "--config", config, ...proxy]);
      assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
      try {
        const joined = await live.wgcage(["exec", name, "--", ...probe]);
        assert(joined.code === 0, `exec: exit ${joined.code}: ${joined.stderr}`);
        assert(
          joined.stdout.includes("[]\ndone"),
          `exec: the command read the login: ${joined.stdout}`,
        );
      } finally {
        const down = await live.wgcage(["down", name]);
        assert(down.code === 0, `down exited ${down.code}: ${down.stderr}`);
      }
      assert(await Deno.readTextFile(login) === LOGIN, "the host's login file changed");
    } finally {
      await lab.close();
    }
  });
}
