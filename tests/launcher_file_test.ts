/**
 * The bundle (build.ts) holds the launcher and the cage's init as files
 * beside it. A run maps the launcher from its file and the cage's child execs
 * the init from its own, reading neither at start, when only root can change
 * them; a file another user may write is copied into a memfd as before, so
 * that no one can rewrite the code wgcage runs (src/launcher/binary_file.ts).
 *
 * Each test runs a copy of the bundle in a directory of its own (root's,
 * 0755), so that a concurrent build does not change what it runs, and looks
 * at the running wgcage and its cage's init through /proc.
 *
 * Needs root (a namespace for the test's wireguard-go peer, /proc of other
 * processes) and wireguard-go.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { loopbackPeer, NOBODY } from "./e2e/wgcage.ts";
import { run } from "./harness/process.ts";
import { processesWith } from "./cage/harness.ts";
import { assert } from "./cage/assert.ts";

const ROOT = new URL("../", import.meta.url).pathname;

let building: Promise<void> | undefined;

/** build.ts --launcher, once for the file's tests. */
function buildOnce(): Promise<void> {
  building ??= run([Deno.execPath(), "run", "-A", `${ROOT}build.ts`, "--launcher"], {
    allowFailure: true,
    timeoutMs: 180_000,
  }).then((built) => assert(built.code === 0, `build.ts --launcher failed: ${built.stderr}`));
  return building;
}

/** Builds the bundle and copies it, its chunks and its binaries into a new root-owned 0755 directory. */
async function bundleCopy(lab: Lab): Promise<string> {
  await buildOnce();
  const manifest = JSON.parse(await Deno.readTextFile(`${ROOT}target/wgcage.bundle.json`)) as {
    assets: [string, number, number][];
  };
  const dir = await Deno.makeTempDir({ prefix: "wgc-bundle-" });
  lab.defer(() => Deno.remove(dir, { recursive: true }));
  await Deno.chmod(dir, 0o755);
  for (const file of ["target/wgcage.bundle.js", ...manifest.assets.map(([f]) => f)]) {
    const to = `${dir}/${file.replace(/^.*\//, "")}`;
    await Deno.copyFile(`${ROOT}${file}`, to);
    // As build.ts leaves them: the binaries 0755 (the init is exec'd from its file).
    await Deno.chmod(to, file.endsWith(".bin") ? 0o755 : 0o644);
  }
  return dir;
}

/** What a run of the bundle in `dir` shows while its command sleeps. */
interface Seen {
  /** The files and memfds wgcage maps, as /proc/PID/maps names them. */
  maps: string[];
  /** /proc/PID/exe of the cage's init. */
  initExe: string;
}

/**
 * Runs the bundle in `dir` in `ns` with `config` and a command that sleeps,
 * looks at /proc while it does, then ends that sleep and the run.
 */
async function lookWhileRunning(
  dir: string,
  ns: string,
  config: string,
  env: Record<string, string> = {},
): Promise<Seen> {
  const stamp = `${Date.now() % 100000}.${Math.floor(Math.random() * 1000)}`;
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns,
      "env",
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      "--no-config",
      "--no-lock",
      `${dir}/wgcage.bundle.js`,
      "--config",
      config,
      "--",
      "sleep",
      stamp,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  try {
    let sleeps: number[] = [];
    for (let i = 0; i < 200 && sleeps.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      // wgcage's own argv holds the stamp too.
      sleeps = [];
      for (const pid of await processesWith(stamp)) {
        const comm = await Deno.readTextFile(`/proc/${pid}/comm`).catch(() => "");
        if (comm.trim() === "sleep") sleeps.push(pid);
      }
    }
    assert(
      sleeps.length === 1,
      `the caged sleep did not start: ${await Promise.race([
        stderr,
        new Promise((r) => setTimeout(() => r("(still running)"), 100)),
      ])}`,
    );
    const wgcage = (await processesWith(`${dir}/wgcage.bundle.js`))[0];
    assert(wgcage !== undefined, "no wgcage process");
    const maps = (await Deno.readTextFile(`/proc/${wgcage}/maps`)).split("\n")
      .map((l) => l.split(/\s+/).slice(5).join(" ")).filter((n) => n !== "");
    const status = await Deno.readTextFile(`/proc/${sleeps[0]}/status`);
    const init = /^PPid:\s+(\d+)$/m.exec(status)![1];
    const initExe = await Deno.readLink(`/proc/${init}/exe`);
    // Ends the command (this test's own sleep): the run ends with its status.
    Deno.kill(sleeps[0], "SIGTERM");
    return { maps: [...new Set(maps)], initExe };
  } finally {
    const status = await child.status;
    await stderr;
    assert(status.code === 143 || status.code === 0, `wgcage exited ${status.code}`);
  }
}

/** The paths of the binaries of the bundle in `dir`. */
async function binaries(dir: string): Promise<string[]> {
  const found = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.name.endsWith(".bin")) found.push(`${dir}/${e.name}`);
  }
  return found;
}

Deno.test("a run of the bundle maps the launcher from its file and execs the cage's init from its own", async () => {
  requireRoot("The launcher file test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const dir = await bundleCopy(lab);
    const ns = await lab.namespace("lfl");
    const { config } = await loopbackPeer(lab, ns);
    const runs: Record<string, string>[] = [{}, { SUDO_UID: `${NOBODY}`, SUDO_GID: `${NOBODY}` }];
    for (const env of runs) {
      const how = Object.keys(env).length > 0 ? "under sudo" : "as root";
      const seen = await lookWhileRunning(dir, ns.name, config, env);
      const bins = await binaries(dir);
      assert(
        seen.maps.some((m) => bins.includes(m)),
        `${how}: no binary of ${dir} mapped: ${seen.maps.join(", ")}`,
      );
      assert(
        !seen.maps.some((m) => m.includes("memfd:")),
        `${how}: a memfd mapped: ${seen.maps.join(", ")}`,
      );
      assert(bins.includes(seen.initExe), `${how}: the init ran from ${seen.initExe}`);
    }
  } finally {
    await lab.close();
  }
});

Deno.test("a launcher and an init that another user may write are copied, not run from their files", async () => {
  requireRoot("The launcher file test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const dir = await bundleCopy(lab);
    for (const bin of await binaries(dir)) await Deno.chown(bin, NOBODY, NOBODY);
    const ns = await lab.namespace("lfc");
    const { config } = await loopbackPeer(lab, ns);
    const seen = await lookWhileRunning(dir, ns.name, config);
    const bins = await binaries(dir);
    assert(!seen.maps.some((m) => bins.includes(m)), `a file mapped: ${seen.maps.join(", ")}`);
    assert(
      seen.maps.some((m) => m.startsWith("/memfd:wgcage-launcher")),
      `the launcher is not in its memfd: ${seen.maps.join(", ")}`,
    );
    assert(seen.initExe.startsWith("/memfd:wgcage-init"), `the init ran from ${seen.initExe}`);
  } finally {
    await lab.close();
  }
});
