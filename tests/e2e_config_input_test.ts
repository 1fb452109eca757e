/**
 * The config's input as an attacker or an accident shapes it, through the
 * real CLI: a config in an environment variable must not reach the command,
 * broken configs must not print their keys, and bad or oversized input ends
 * wgcage with one line and status 125.
 *
 * The cage tests need root (namespaces for the test's peer) and wireguard-go.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { loopbackPeer, wgcageArgv } from "./e2e/wgcage.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** `pid` and every process below it, read from the host's /proc. */
async function processTree(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry.name)]);
    } catch {
      // gone in between
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i]) ?? []));
  return tree;
}

Deno.test("--config-env: the config, keys included, is gone from the command's environment and from /proc/PID/environ of the cage and of wgcage", async () => {
  requireRoot("The --config-env test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("cenv");
    const { config } = await loopbackPeer(lab, ns);
    const marker = "marker-cenv-5d81e0";
    const text = `# ${marker}\n${await Deno.readTextFile(config)}`;
    const privateKey = /PrivateKey = (\S+)/.exec(text)?.[1];
    assert(privateKey !== undefined, `no PrivateKey in ${config}`);
    // Inside the cage: the command's environment, then every process's
    // original environment block (the init, a fork of wgcage, included).
    const script = `printf 'env %s\\n' "$(env | grep -c -e PrivateKey -e ${marker})"; ` +
      `printf 'procs %s\\n' "$(ls -d /proc/[0-9]* | wc -l)"; ` +
      `printf 'environ %s\\n' "$(cat /proc/[0-9]*/environ | tr '\\0' '\\n' | grep -c -e PrivateKey -e ${marker})"; ` +
      `ip -4 -o addr show wg0; echo ready; exec sleep 60`;
    const p = ns.spawn(
      wgcageArgv(["--config-env", "WGC_E2E_CONF", "--", "sh", "-c", script]),
      { WGC_E2E_CONF: text },
    );
    await p.waitForLine("ready", 30_000);
    assert(p.lines.includes("env 0"), `the command's environment has the config: ${p.stdout}`);
    const procs = Number(/^procs (\d+)$/m.exec(p.stdout)?.[1]);
    assert(procs >= 2, `the cage's /proc shows ${procs} processes: ${p.stdout}`);
    assert(p.lines.includes("environ 0"), `a process of the cage has the config: ${p.stdout}`);
    assert(/inet 10\.99\.0\.2\/24/.test(p.stdout), `the tunnel is not configured: ${p.stdout}`);

    // From the host: wgcage itself and everything it started.
    const tree = await processTree(p.pid);
    assert(tree.length >= 3, `wgcage ${p.pid} has too few processes below it: ${tree}`);
    for (const pid of tree) {
      let environ: string;
      try {
        environ = await Deno.readTextFile(`/proc/${pid}/environ`);
      } catch {
        continue; // gone in between
      }
      for (const secret of [privateKey, marker, "PrivateKey"]) {
        assert(!environ.includes(secret), `/proc/${pid}/environ holds '${secret.slice(0, 12)}'`);
      }
    }
    const status = await p.stop("SIGTERM", 5_000);
    assert(status.code === 143, `wgcage exited ${status.code}: ${p.stderr}`);
    assert(!p.stderr.includes(privateKey), "wgcage printed the private key");
  } finally {
    await lab.close();
  }
});
