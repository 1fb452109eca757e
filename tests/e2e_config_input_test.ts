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
import { run, type RunResult } from "./harness/process.ts";
import { generateKeyPair, generatePresharedKey } from "./harness/keys.ts";
import { loopbackPeer, wgcageArgv, wgQuick } from "./e2e/wgcage.ts";

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

/** A temp dir for one test, removed by `body`'s end. */
async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wgc-input-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * wgcage run on the command line, with at most 2 GiB of data: old builds
 * grew without bound on an endless config, and a test must not take the
 * machine's memory with it.
 */
function wgcage(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) {
  const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
  return run(["prlimit", `--data=${2 ** 31}`, "env", ...env, ...wgcageArgv(args)], {
    stdin: options.stdin,
    allowFailure: true,
    timeoutMs: 30_000,
  });
}

/** Exit 125 and exactly one line on stderr, which matches `expected`; returns the line. */
function refused(r: RunResult, expected: RegExp): string {
  assert(r.code === 125, `exit ${r.code}: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split("\n");
  assert(lines.length === 1, `expected one line, got: ${r.stderr.slice(0, 2000)}`);
  assert(expected.test(lines[0]), `unexpected message: ${lines[0].slice(0, 2000)}`);
  assert(!/Internal error/.test(lines[0]), lines[0]);
  return lines[0];
}

async function keyedConfig(dir: string, edit: (text: string) => string) {
  const keys = await generateKeyPair();
  const peer = await generateKeyPair();
  const psk = await generatePresharedKey();
  const text = wgQuick({ privateKey: keys.privateKey, addresses: ["10.99.0.2/24"] }, [{
    publicKey: peer.publicKey,
    presharedKey: psk,
    allowedIps: ["10.99.0.0/24"],
    endpoint: "127.0.0.1:51820",
  }]);
  const path = `${dir}/wg0.conf`;
  await Deno.writeTextFile(path, edit(text), { mode: 0o600 });
  return { path, text, keys, peer, psk };
}

Deno.test("CLI: a key on a malformed line or in a one-line config is never printed", async () => {
  await withDir(async (dir) => {
    const { path, keys } = await keyedConfig(
      dir,
      (t) => t.replace("PrivateKey = ", "PrivateKey: "),
    );
    const line = refused(await wgcage(["--config", path, "--", "true"]), /wg0\.conf:2: /);
    assert(line.includes("<redacted>"), line);
    assert(!line.includes(keys.privateKey.slice(0, 12)), `the private key was printed: ${line}`);
    assert(
      !line.includes(keys.privateKey.slice(20, 32)),
      `part of the private key was printed: ${line}`,
    );

    // A CI secret whose line breaks were lost.
    const { text, psk } = await keyedConfig(dir, (t) => t);
    const r = await wgcage(["--config-env", "WGC_ONE_LINE", "--", "true"], {
      env: { WGC_ONE_LINE: text.replaceAll("\n", " ") },
    });
    const oneLine = refused(r, /\$WGC_ONE_LINE:1: .*line breaks/);
    for (const secret of [/PrivateKey = (\S+)/.exec(text)![1], psk]) {
      assert(!oneLine.includes(secret.slice(0, 12)), `a key was printed: ${oneLine}`);
    }
  });
});

Deno.test("CLI: an all-zero or our own peer key is a config error naming the line or flag, not an internal error", async () => {
  await withDir(async (dir) => {
    const zero = "A".repeat(43) + "=";
    const { path } = await keyedConfig(
      dir,
      (t) => t.replace(/PublicKey = \S+/, `PublicKey = ${zero}`),
    );
    refused(
      await wgcage(["--config", path, "--", "true"]),
      /^wgcage: \S+wg0\.conf:6: PublicKey is all zeros, not a key; use the peer's public key/,
    );
    const keys = await generateKeyPair();
    const keyFile = `${dir}/private.key`;
    await Deno.writeTextFile(keyFile, `${keys.privateKey}\n`, { mode: 0o600 });
    refused(
      await wgcage([
        "--wg-private-key-file",
        keyFile,
        "--wg-public-key",
        keys.publicKey,
        "--wg-endpoint",
        "127.0.0.1:51820",
        "--wg-address",
        "10.99.0.2/32",
        "--",
        "true",
      ]),
      /^wgcage: --wg-public-key is our own public key \(that of --wg-private-key-file\), not the peer's; use the peer's public key/,
    );
  });
});

Deno.test("CLI: an endless or oversized config is refused after 1 MiB, from a file, /dev/zero or stdin", async () => {
  await withDir(async (dir) => {
    const started = performance.now();
    refused(
      await wgcage(["--config", "/dev/zero", "--", "true"]),
      /^wgcage: Cannot read config file '\/dev\/zero': it holds over 1 MiB, far more than a config or key; check the path$/,
    );
    refused(
      await wgcage(["--wg-private-key-file", "/dev/zero", "--", "true"]),
      /^wgcage: Cannot read --wg-private-key-file file '\/dev\/zero': it holds over 1 MiB/,
    );
    // A pipe that goes on for 3 MiB; wgcage stops reading it.
    const piped = await run([
      "sh",
      "-c",
      `head -c 3145728 /dev/zero | prlimit --data=${2 ** 31} "$@"`,
      "sh",
      ...wgcageArgv(["--config", "-", "--", "true"]),
    ], { allowFailure: true, timeoutMs: 30_000 });
    refused(
      piped,
      /^wgcage: Cannot read the config from stdin: it holds over 1 MiB, far more than a config; pipe in the wg-quick config itself$/,
    );
    assert(performance.now() - started < 20_000, "refusing took too long");

    // A value of a megabyte is shown as its first 40 characters.
    const { path } = await keyedConfig(
      dir,
      (t) => t.replace("Address = 10.99.0.2/24", `Address = ${"1".repeat(1_000_000)}`),
    );
    const line = refused(
      await wgcage(["--config", path, "--", "true"]),
      /wg0\.conf:3: Address '1{40}…' is not a valid CIDR/,
    );
    assert(line.length < 400, `a message of ${line.length} characters`);
  });
});

Deno.test("CLI: DNS = a10.77.0.1 warns that it became a search domain, and the host's resolver that the cage falls back to is named", async () => {
  requireRoot("The DNS fallback test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("dnsfb");
    const { config } = await loopbackPeer(lab, ns);
    const text = (await Deno.readTextFile(config)).replace(
      "Address = 10.99.0.2/24",
      "Address = 10.99.0.2/24\nDNS =a10.77.0.1",
    );
    await Deno.writeTextFile(config, text);
    const r = await ns.run(wgcageArgv(["--config", config, "--", "cat", "/etc/resolv.conf"]), {
      allowFailure: true,
      timeoutMs: 60_000,
    });
    assert(r.code === 0, `exit ${r.code}: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split("\n");
    assert(
      lines.some((line) =>
        /wg0\.conf:4: DNS entry 'a10\.77\.0\.1' is not an IP address, taken as a search domain; .*10\.77\.0\.1/
          .test(line)
      ),
      `no warning about the DNS entry: ${r.stderr}`,
    );
    // Whatever this host's resolv.conf holds, the tunnel routes only
    // 10.99.0.0/24: the cage's resolvers are not reachable through it.
    assert(
      lines.some((line) =>
        /^wgcage: (No DNS server is set .* but its resolvers? |The host has no \/etc\/resolv\.conf|The host's resolv\.conf names no DNS server)/
          .test(line)
      ),
      `no warning about the host's resolvers: ${r.stderr}`,
    );
    assert(r.stdout.includes("a10.77.0.1"), `the search domain is not in resolv.conf: ${r.stdout}`);
  } finally {
    await lab.close();
  }
});
