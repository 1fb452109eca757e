/**
 * The native join (launcher/join_main/, `wgcage-join`): `wgcage exec` without
 * Deno. Run here on its own, with no Deno path to hand over to (COUNT 0), so
 * that whatever it does is its own: it lands in the live cage (the keeper's
 * namespaces, not a forged record's), passes the command's status on, joins
 * 50 at once, and refuses with the Deno path's line and status (compared
 * with WGCAGE_NATIVE_JOIN=0, which keeps an exec on that path) a socket of
 * another user, a stuck keeper (and yields to Ctrl-C and SIGTERM while it
 * waits). What it hands over (no such cage, a dead keeper's stale record, a
 * command not found or not executable) gets the Deno path's line through
 * `wgcage exec`. The program is static, for x86_64 and aarch64. `wgcage
 * exec` runs it from a sealed memfd, from source and from the sources the
 * compiled binary is made of (its architecture's assets, as tools/release.ts
 * stages them for `deno compile`).
 *
 * Needs root (namespaces), wireguard-go, python3, and for the aarch64 check
 * gcc-aarch64-linux-gnu and libc6-dev-arm64-cross.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { cageName } from "./harness/names.ts";
import { run, type RunResult } from "./harness/process.ts";
import { NOBODY, wgcageArgv } from "./e2e/wgcage.ts";
import { liveLab, liveRunner } from "./harness/live.ts";
import { type Arch, stageCompileSource } from "../tools/release.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const JOIN = `${ROOT}target/wgcage-join`;
const PT_INTERP = 3;

/** The p_type of each program header of a 64-bit little-endian ELF file. */
function programHeaderTypes(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert(view.getUint32(0) === 0x7f454c46 && bytes[4] === 2 && bytes[5] === 1, "not ELF64 LE");
  const [phoff, size, count] = [
    Number(view.getBigUint64(0x20, true)),
    view.getUint16(0x36, true),
    view.getUint16(0x38, true),
  ];
  return Array.from({ length: count }, (_, i) => view.getUint32(phoff + i * size, true));
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function buildLauncher(args: string[] = ["--launcher"]): Promise<void> {
  const built = await run([Deno.execPath(), "run", "-A", `${ROOT}build.ts`, ...args], {
    allowFailure: true,
    timeoutMs: 180_000,
  });
  assert(built.code === 0, `build.ts ${args.join(" ")} failed: ${built.stderr}`);
}

/** The native join alone: no Deno path to hand anything to. */
function native(ns: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return run(["env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), JOIN, "0", ...args], {
    ns,
    allowFailure: true,
    timeoutMs: 60_000,
  });
}

/** `wgcage ARGS` on the Deno path alone. */
function denoPath(ns: string, args: string[]): Promise<RunResult> {
  return run(["env", "WGCAGE_NATIVE_JOIN=0", ...wgcageArgv(args)], {
    ns,
    allowFailure: true,
    timeoutMs: 60_000,
  });
}

function sameRefusal(what: string, a: RunResult, b: RunResult): void {
  assert(
    a.code === b.code && a.stderr === b.stderr && a.stderr.trim().split("\n").length === 1,
    `${what}: native ${a.code} '${a.stderr.trim()}', Deno path ${b.code} '${b.stderr.trim()}'`,
  );
}

Deno.test("wgcage-join is a static program for x86_64 and aarch64", async () => {
  await buildLauncher();
  assert(!programHeaderTypes(await Deno.readFile(JOIN)).includes(PT_INTERP), "x86_64: PT_INTERP");
  await buildLauncher(["--target", "aarch64"]);
  const arm = await Deno.readFile(`${ROOT}target/aarch64/wgcage-join`);
  assert(arm[18] === 183 && arm[19] === 0, "target/aarch64/wgcage-join is not an aarch64 ELF");
  assert(!programHeaderTypes(arm).includes(PT_INTERP), "aarch64: PT_INTERP");
});

Deno.test("native join: lands in the keeper's cage whatever the record says, passes the status on, 50 at once", async () => {
  requireRoot("The native join test");
  await requireTool("wireguard-go", "wireguard-go");
  await buildLauncher();
  const lab = await Lab.open();
  try {
    const { ns, config } = await liveLab(lab, "njoin", 0);
    const w = await liveRunner(lab, ns, false);
    const name = cageName("nj");
    const up = await w.wgcage(["up", name, "-d", "--config", config]);
    assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
    try {
      // A record whose initPid names this test: the join must not follow it.
      const path = `${w.stateDir}/${name}.json`;
      const record = JSON.parse(await Deno.readTextFile(path));
      await Deno.writeTextFile(path, JSON.stringify({ ...record, initPid: Deno.pid }));
      const inside = await native(ns, ["exec", name, "--", "ip", "-o", "addr"]);
      assert(inside.code === 0, `exec exited ${inside.code}: ${inside.stderr}`);
      assert(inside.stdout.includes("10.97.0.2/24"), `not in the cage: ${inside.stdout}`);
      const status = await native(ns, ["exec", name, "sh", "-c", "exit 7"]);
      assert(status.code === 7 && status.stderr === "", `status: ${status.code} ${status.stderr}`);
      const killed = await native(ns, ["exec", name, "--", "sh", "-c", "kill -TERM $$"]);
      assert(killed.code === 143, `killed by SIGTERM: ${killed.code} ${killed.stderr}`);
      const many = await Promise.all(
        Array.from({ length: 50 }, () => native(ns, ["exec", name, "--", "true"])),
      );
      const failed = many.filter((r) => r.code !== 0);
      assert(failed.length === 0, `${failed.length} of 50 failed: ${failed[0]?.stderr}`);
    } finally {
      await w.wgcage(["down", name]);
    }
  } finally {
    await lab.close();
  }
});

Deno.test("native join: refuses a socket of another user and a stuck keeper with the Deno path's line and status; ends at once on Ctrl-C or SIGTERM", async () => {
  requireRoot("The native join test");
  await requireTool("wireguard-go", "wireguard-go");
  await buildLauncher();
  const lab = await Lab.open();
  try {
    const { ns, namespace, config } = await liveLab(lab, "nrefuse", 0);
    const w = await liveRunner(lab, ns, false);
    const name = cageName("nr");
    const up = await w.wgcage(["up", name, "-d", "--config", config]);
    assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
    const sock = `${w.stateDir}/${name}.sock`;
    try {
      // Another user's socket where the cage's was: nobody listens on it.
      const other = `${w.stateDir}/.other-${name}`;
      await Deno.rename(sock, other);
      // Beside the state directory, so that the rename below stays on one
      // file system (/tmp and /run are two on many machines).
      const stateParent = w.stateDir.replace(/\/[^/]+\/?$/, "") || "/";
      const dir = await Deno.makeTempDir({ dir: stateParent, prefix: "wgc-other-" });
      lab.defer(() => Deno.remove(dir, { recursive: true }));
      await Deno.chown(dir, NOBODY, NOBODY);
      const listener = namespace.spawn([
        "setpriv",
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        "--clear-groups",
        "/usr/bin/python3",
        "-c",
        "import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); " +
        "s.listen(8); print('up', flush=True); time.sleep(60)",
        `${dir}/s.sock`,
      ]);
      try {
        for (let i = 0; i < 100 && !(await exists(`${dir}/s.sock`)); i++) await sleep(50);
        await Deno.rename(`${dir}/s.sock`, sock);
        const mine = await native(ns, ["exec", name, "--", "true"]);
        const theirs = await denoPath(ns, ["exec", name, "--", "true"]);
        sameRefusal("another user's socket", mine, theirs);
        assert(mine.stderr.includes("another network namespace or user"), mine.stderr);
      } finally {
        listener.signal("SIGKILL");
        await listener.status;
        await Deno.remove(sock).catch(() => {});
        await Deno.rename(other, sock);
      }

      // A stuck keeper: one line after 10 s; Ctrl-C or SIGTERM end the wait at once.
      const record = JSON.parse(await Deno.readTextFile(`${w.stateDir}/${name}.json`));
      Deno.kill(record.pid, "SIGSTOP");
      try {
        const [mine, theirs] = await Promise.all([
          native(ns, ["exec", name, "--", "true"]),
          denoPath(ns, ["exec", name, "--", "true"]),
        ]);
        sameRefusal("a stuck keeper", mine, theirs);
        assert(mine.stderr.includes("did not answer within 10 s"), mine.stderr);
        for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
          const p = namespace.spawn([JOIN, "0", "exec", name, "--", "true"]);
          await sleep(500);
          const sent = Date.now();
          p.signal(sig);
          const s = await p.status;
          const after = Date.now() - sent;
          assert(s.code === code && after < 1000, `${sig}: ${s.code} after ${after} ms`);
        }
      } finally {
        Deno.kill(record.pid, "SIGCONT");
      }

      // What it hands over comes back from the Deno path: through `wgcage exec`
      // (the Deno entry execs the native join), the same line as on that path.
      const plain = await Deno.makeTempFile({ prefix: "wgc-plain-" });
      lab.defer(() => Deno.remove(plain));
      await Deno.writeTextFile(plain, "#!/bin/sh\ntrue\n");
      await Deno.chmod(plain, 0o644);
      const cases: [string, string[]][] = [
        ["a name that is not up", ["exec", `${name}x`, "--", "true"]],
        ["a command not found", ["exec", name, "--", "no-such-command-here"]],
        ["a command not executable", ["exec", name, "--", plain]],
      ];
      for (const [what, args] of cases) {
        const through = await w.wgcage(args);
        const theirs = await denoPath(ns, args);
        sameRefusal(what, through, theirs);
      }
      const notFound = await w.wgcage(["exec", name, "--", "no-such-command-here"]);
      const notExecutable = await w.wgcage(["exec", name, "--", plain]);
      assert(
        notFound.code === 127 && notExecutable.code === 126,
        `127 and 126: ${notFound.code} ${notFound.stderr} ${notExecutable.code} ${notExecutable.stderr}`,
      );
    } finally {
      await w.wgcage(["down", name]);
    }
    // A dead keeper's record (down without its cleanup: kill -9) is stale.
    const again = cageName("nr");
    const up2 = await w.wgcage(["up", again, "-d", "--config", config]);
    assert(up2.code === 0, `up -d exited ${up2.code}: ${up2.stderr}`);
    const record = JSON.parse(await Deno.readTextFile(`${w.stateDir}/${again}.json`));
    Deno.kill(record.pid, "SIGKILL");
    await sleep(300);
    const through = await w.wgcage(["exec", again, "--", "true"]);
    assert(
      through.code === 125 && through.stderr.includes(`No live cage named '${again}'`),
      `a dead keeper: ${through.code} ${through.stderr}`,
    );
    const mine = await native(ns, ["exec", again, "--", "true"]);
    assert(
      mine.code === 125 && mine.stderr.includes("no Deno path"),
      "a stale record is not joined",
    );
  } finally {
    await lab.close();
  }
});

Deno.test("native join: WGCAGE_DIE_WITH_PARENT as on the Deno path: ends when a watched process ends; a bad value is the same line", async () => {
  requireRoot("The native join test");
  await requireTool("wireguard-go", "wireguard-go");
  await buildLauncher();
  const lab = await Lab.open();
  try {
    const { ns, namespace, config } = await liveLab(lab, "ndie", 0);
    const w = await liveRunner(lab, ns, false);
    const name = cageName("nd");
    const up = await w.wgcage(["up", name, "-d", "--config", config]);
    assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
    try {
      const bad = { WGCAGE_DIE_WITH_PARENT: "12x" };
      const mine = await native(ns, ["exec", name, "--", "true"], bad);
      const theirs = await run([
        "env",
        "WGCAGE_NATIVE_JOIN=0",
        "WGCAGE_DIE_WITH_PARENT=12x",
        ...wgcageArgv(["exec", name, "--", "true"]),
      ], { ns, allowFailure: true });
      sameRefusal("a bad WGCAGE_DIE_WITH_PARENT", mine, theirs);
      // The shell is the parent the npm bin names; a process above it ends.
      // Natively, and through wgcage from source (which takes the variable
      // when it starts and execs the native join, which takes it up again).
      const direct = [JOIN, "0"];
      const fromSource = wgcageArgv([]);
      for (const [how, start] of [["natively", direct], ["from source", fromSource]] as const) {
        const above = namespace.spawn(["sleep", "60"]);
        const shell = namespace.spawn([
          "sh",
          "-c",
          `a=$1; shift; WGCAGE_DIE_WITH_PARENT="$$ $a" "$@" exec ${name} -- sleep 30; echo "status $?"`,
          "sh",
          String(above.pid),
          ...start,
        ]);
        await sleep(how === "natively" ? 1500 : 4000);
        const killed = Date.now();
        above.signal("SIGKILL");
        await above.status;
        await shell.status;
        const after = Date.now() - killed;
        assert(
          shell.stdout.includes("status 137") && after < 2000,
          `${how}: ${shell.stdout} ${shell.stderr} after ${after} ms`,
        );
      }
    } finally {
      await w.wgcage(["down", name]);
    }
  } finally {
    await lab.close();
  }
});

Deno.test("WGCAGE_NATIVE_JOIN=0 keeps exec on the Deno path, and the command does not see it", async () => {
  requireRoot("The native join test");
  await requireTool("wireguard-go", "wireguard-go");
  await buildLauncher();
  const lab = await Lab.open();
  try {
    const { ns, config } = await liveLab(lab, "nfall", 0);
    const w = await liveRunner(lab, ns, false);
    const name = cageName("nf");
    const up = await w.wgcage(["up", name, "-d", "--config", config]);
    assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
    try {
      const script = 'echo "[${WGCAGE_NATIVE_JOIN-unset}]"; ip -o addr';
      const r = await denoPath(ns, ["exec", "-v", name, "--", "sh", "-c", script]);
      assert(r.code === 0, `exec exited ${r.code}: ${r.stderr}`);
      assert(r.stdout.startsWith("[unset]") && r.stdout.includes("10.97.0.2/24"), r.stdout);
      assert(/Deno path.*WGCAGE_NATIVE_JOIN=0/.test(r.stderr), `-v: ${r.stderr}`);
      const n = await w.wgcage(["exec", "-v", name, "--", "true"]);
      assert(n.code === 0 && /native join/.test(n.stderr), `-v, natively: ${n.stderr}`);
    } finally {
      await w.wgcage(["down", name]);
    }
  } finally {
    await lab.close();
  }
});

Deno.test("wgcage exec runs the native join from a sealed memfd, from source and from the compiled binary's sources", async () => {
  requireRoot("The native join test");
  await requireTool("wireguard-go", "wireguard-go");
  await buildLauncher();
  // The compiled binary's own assets (build.ts --target for this machine),
  // staged as the release stages them for deno compile.
  const arch = Deno.build.arch as Arch;
  await buildLauncher(["--target", arch]);
  const stage = await Deno.makeTempDir({ prefix: "wgc-compile-src-" });
  const lab = await Lab.open();
  lab.defer(() => Deno.remove(stage, { recursive: true }));
  try {
    const dir = await stageCompileSource(arch, `${stage}/`);
    const joinAsset = await Deno.readTextFile(`${dir}src/launcher/_join_asset.ts`);
    assert(!joinAsset.includes(ROOT), "the compiled binary's join asset names a path here");
    // The file deno compile embeds (--include) is this architecture's program.
    const staged = await Deno.readFile(`${dir}src/launcher/wgcage-join`);
    const built = await Deno.readFile(`${ROOT}target/${arch}/wgcage-join`);
    assert(staged.length === built.length && staged.every((b, i) => b === built[i]), "staged join");
    const compiled = (args: string[]) => [
      Deno.execPath(),
      ...["run", "-A", "--quiet", "--no-lock", "--config", `${dir}deno.json`],
      `${dir}src/wgcage.ts`,
      ...args,
    ];
    const { ns, namespace, config } = await liveLab(lab, "nmem", 0);
    const w = await liveRunner(lab, ns, false);
    const name = cageName("nm");
    const up = await w.wgcage(["up", name, "-d", "--config", config]);
    assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
    try {
      const deno = await Deno.realPath(Deno.execPath());
      const command = ["exec", "-v", name, "--", "sh", "-c", "sleep 1; ip -o addr"];
      const runs: [string, string[]][] = [
        ["from source", w.argv(command)],
        ["compiled", compiled(command)],
      ];
      for (const [how, argv] of runs) {
        const p = namespace.spawn(argv);
        // The process is wgcage (Deno) until it execs the join in its place.
        let exe = deno;
        for (let i = 0; i < 400 && !p.exited && exe === deno; i++) {
          await sleep(25);
          exe = await Deno.readLink(`/proc/${p.pid}/exe`).catch(() => deno);
        }
        const s = await p.status;
        assert(exe === "/memfd:wgcage-join (deleted)", `${how}: /proc/PID/exe was ${exe}`);
        assert(s.code === 0 && p.stdout.includes("10.97.0.2/24"), `${how}: ${s.code} ${p.stderr}`);
        assert(/through the native join/.test(p.stderr), `${how}: -v said ${p.stderr}`);
      }
    } finally {
      await w.wgcage(["down", name]);
    }
  } finally {
    await lab.close();
  }
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
