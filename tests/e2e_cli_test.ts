/**
 * The whole tool as users run it: the demo (wgcage ↔ wgcage over loopback,
 * rootless), signals through wgcage to the command, key commands against
 * `wg`, and the one-line refusals with exit status 125.
 *
 * Needs root (namespaces for the test's peer, mknod for a private TUN node)
 * and wg (wireguard-tools).
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { run } from "./harness/process.ts";
import { generateKeyPair } from "./harness/keys.ts";
import { endpointOf } from "./harness/wg_peer.ts";
import { loopbackPeer, runWgcage, wgcageArgv, wgQuick, writeConfig } from "./e2e/wgcage.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

Deno.test("the demo runs rootless: two cages talk through a WireGuard tunnel over 127.0.0.1", async () => {
  requireRoot("The demo test");
  const lab = await Lab.open();
  try {
    const r = await runWgcage(lab, { args: ["demo"], rootless: true, timeoutMs: 60_000 });
    assert(r.code === 0, `demo exited ${r.code}: ${r.stderr}\n${r.stdout}`);
    assert(r.stdout.includes("hello 10.13.13.2"), `demo printed: ${r.stdout}`);
    assert(/wg0\s+UP\s+mtu 1420\s+10\.13\.13\.2\/24/.test(r.stdout), `interfaces: ${r.stdout}`);
    assert(/^\s+lo\s+UP/m.test(r.stdout), `no lo in: ${r.stdout}`);
    assert(r.stdout.trimEnd().endsWith("demo: ok"), `demo printed: ${r.stdout}`);
  } finally {
    await lab.close();
  }
});

Deno.test("the demo says why and how to fix it when /dev/net/tun is not accessible", async () => {
  requireRoot("The demo test");
  const lab = await Lab.open();
  try {
    // A TUN node only root may open, seen by the unprivileged user.
    const r = await runWgcage(lab, { args: ["demo"], rootless: true, tunMode: 0o600 });
    assert(r.code === 125, `exit ${r.code}: ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert(lines.length === 1, `expected one line, got: ${r.stderr}`);
    assert(/\/dev\/net\/tun/.test(lines[0]) && /chmod|sudo/.test(lines[0]), lines[0]);
  } finally {
    await lab.close();
  }
});

Deno.test("SIGTERM and SIGINT sent to wgcage reach the command, whose status wgcage returns", async () => {
  requireRoot("The signal test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("sig");
    const { config } = await loopbackPeer(lab, ns);
    for (const [signal, status] of [["SIGTERM", 3], ["SIGINT", 4]] as const) {
      const script = `trap 'echo got TERM; exit 3' TERM; trap 'echo got INT; exit 4' INT; ` +
        `echo ready; while :; do sleep 0.05; done`;
      const p = ns.spawn(wgcageArgv(["--config", config, "--", "sh", "-c", script]));
      await p.waitForLine("ready", 20_000);
      p.signal(signal);
      const s = await p.status;
      assert(s.code === status, `${signal}: wgcage exited ${s.code}, stdout ${p.stdout}`);
      assert(p.stdout.includes(signal === "SIGTERM" ? "got TERM" : "got INT"), p.stdout);
    }
  } finally {
    await lab.close();
  }
});

Deno.test("Ctrl-C while waiting for the handshake ends wgcage at once with 130, leaving nothing", async () => {
  requireRoot("The signal test");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("int");
    const keys = await generateKeyPair();
    const config = await writeConfig(
      lab,
      wgQuick({ privateKey: keys.privateKey, addresses: ["10.99.0.2/24"] }, [{
        publicKey: (await generateKeyPair()).publicKey,
        allowedIps: ["10.99.0.0/24"],
        endpoint: endpointOf("127.0.0.1", 9),
      }]),
    );
    // A private TMPDIR: the cage's /etc files go there, and nothing else does
    // (other tests running in parallel use /tmp).
    const tmp = await Deno.makeTempDir({ prefix: "wgc-int-tmp-" });
    lab.defer(() => Deno.remove(tmp, { recursive: true }));
    const leftovers = async () => {
      const names: string[] = [];
      for await (const e of Deno.readDir(tmp)) names.push(e.name);
      return names;
    };
    const p = ns.spawn(wgcageArgv(["-v", "--config", config, "--", "true"]), { TMPDIR: tmp });
    // -v says on stderr when the handshake is under way.
    for (let waited = 0; !p.stderr.includes("handshake initiation sent"); waited += 20) {
      assert(waited < 20_000, `wgcage never started a handshake: ${p.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const t0 = performance.now();
    p.signal("SIGINT");
    const s = await p.status;
    const took = performance.now() - t0;
    assert(s.code === 130, `exit ${s.code}: ${p.stderr}`);
    assert(took < 2000, `took ${took} ms to stop`);
    const left = await leftovers();
    assert(left.length === 0, `left in TMPDIR: ${left.join(", ")}`);
    assert((await ns.pids()).length === 0, "a process of the cage is left");
  } finally {
    await lab.close();
  }
});

Deno.test("genkey, pubkey and genpsk agree with wg", async () => {
  await requireTool("wg", "wireguard-tools");
  const main = new URL("../src/main.ts", import.meta.url).pathname;
  const wgcage = (args: string[], stdin?: string) =>
    run([Deno.execPath(), "run", "-A", "--quiet", main, ...args], { stdin });
  const priv = (await wgcage(["genkey"])).stdout.trim();
  assert(/^[A-Za-z0-9+/]{43}=$/.test(priv), `genkey printed ${priv}`);
  const ours = (await wgcage(["pubkey"], priv + "\n")).stdout.trim();
  const theirs = (await run(["wg", "pubkey"], { stdin: priv + "\n" })).stdout.trim();
  assert(ours === theirs, `pubkey ${ours} but wg pubkey ${theirs}`);
  const wgPriv = (await run(["wg", "genkey"])).stdout.trim();
  const ours2 = (await wgcage(["pubkey"], wgPriv)).stdout.trim();
  const theirs2 = (await run(["wg", "pubkey"], { stdin: wgPriv })).stdout.trim();
  assert(ours2 === theirs2, "pubkey of a wg genkey key differs");
  const psk = (await wgcage(["genpsk"])).stdout.trim();
  assert(/^[A-Za-z0-9+/]{43}=$/.test(psk), `genpsk printed ${psk}`);
  const bad = await run([Deno.execPath(), "run", "-A", "--quiet", main, "pubkey"], {
    stdin: "not a key\n",
    allowFailure: true,
  });
  assert(bad.code === 125 && bad.stderr.trim().split("\n").length === 1, bad.stderr);
});

Deno.test("config and usage errors: one line naming file, line and fix; status 125; no secret echoed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wgc-cli-" });
  try {
    const main = new URL("../src/main.ts", import.meta.url).pathname;
    const secret = "aGVsbG8gd29ybGQgdGhpcyBpcyBub3QgYSByZWFsIGs=";
    await Deno.writeTextFile(
      `${dir}/bad.conf`,
      `[Interface]\nPrivateKey = ${secret}\nAddress = 10.0.0.2/33\n`,
      { mode: 0o600 },
    );
    const r = await run([
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      main,
      "--config",
      `${dir}/bad.conf`,
      "--",
      "true",
    ], {
      allowFailure: true,
    });
    assert(r.code === 125, `exit ${r.code}`);
    assert(r.stderr.trim().split("\n").length === 1, `more than one line: ${r.stderr}`);
    assert(r.stderr.includes("bad.conf:3"), `no file:line in ${r.stderr}`);
    assert(!r.stderr.includes(secret), "the private key was echoed");
    const u = await run([Deno.execPath(), "run", "-A", "--quiet", main, "--no-such-option"], {
      allowFailure: true,
    });
    assert(u.code === 125 && u.stderr.startsWith("wgcage: "), `usage error: ${u.code} ${u.stderr}`);
    const v = await run([Deno.execPath(), "run", "-A", "--quiet", main, "version"]);
    assert(/^wgcage \d+\.\d+\.\d+/.test(v.stdout), v.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--no-userns: as root the cage shares the host's user namespace (no boundary); rootless it is refused in one line", async () => {
  requireRoot("The --no-userns test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("nouserns");
    const { config } = await loopbackPeer(lab, ns);
    const hostUserns = await Deno.readLink("/proc/self/ns/user");
    const probe = ["--config", config, "--", "readlink", "/proc/self/ns/user"];
    const caged = await runWgcage(lab, { ns, args: probe });
    assert(caged.code === 0, `exit ${caged.code}: ${caged.stderr}`);
    assert(caged.stdout.trim() !== hostUserns, `the cage had no user namespace: ${caged.stdout}`);
    const bare = await runWgcage(lab, { ns, args: ["--no-userns", ...probe] });
    assert(bare.code === 0, `exit ${bare.code}: ${bare.stderr}`);
    assert(bare.stdout.trim() === hostUserns, `--no-userns: ${bare.stdout} != ${hostUserns}`);
    const rootless = await runWgcage(lab, { args: ["--no-userns", ...probe], rootless: true });
    const lines = rootless.stderr.trim().split("\n");
    assert(rootless.code === 125, `rootless: exit ${rootless.code}: ${rootless.stderr}`);
    assert(lines.length === 1, `more than one line: ${rootless.stderr}`);
    assert(lines[0].startsWith("wgcage: --no-userns is for root only"), lines[0]);
    assert(rootless.stdout === "", `the command ran: ${rootless.stdout}`);
  } finally {
    await lab.close();
  }
});
