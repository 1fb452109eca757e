/**
 * The GitHub Action's steps (action/*.sh, in the order and with the inputs
 * action.yml gives them), run here with a GitHub-like environment
 * (GITHUB_OUTPUT, GITHUB_PATH, RUNNER_TEMP, RUNNER_TOOL_CACHE,
 * GITHUB_ACTION_PATH) against a release served on 127.0.0.1:
 *
 * - as root: the config is masked line by line, the release of the action's
 *   tag is installed through install.sh into the tool cache, `wgcage` goes on
 *   PATH, and `run` executes in a real cage (wgcage from source) with a
 *   tunnel to wireguard-go, without the config in its environment; a second
 *   setup takes the cached binary without downloading;
 * - as a throwaway user with passwordless sudo where user namespaces are
 *   refused (a failing `unshare` on PATH): sudo mode, whose `wgcage` goes
 *   through the real sudo with PATH and the environment, to a binary and a
 *   wrapper that root owns, downloaded and verified by every setup, which
 *   the user (the caged command's) cannot replace.
 *
 * Needs root (namespaces, useradd, a sudoers.d entry removed afterwards),
 * sudo and wireguard-go.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { run, type RunResult } from "./harness/process.ts";
import { loopbackPeer, MAIN } from "./e2e/wgcage.ts";
import { writeSums } from "../tools/release.ts";
import { makeTestUser } from "./cage/test_user.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const ASSET = `wgcage-${Deno.build.arch}-linux`;

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** A release whose binary is `script`, served on 127.0.0.1, counting downloads. */
async function serveRelease(script: string) {
  const dir = await Deno.makeTempDir({ prefix: "wgc-action-release-" });
  await Deno.writeTextFile(`${dir}/${ASSET}`, script);
  await writeSums(dir, [ASSET]);
  const downloads: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const name = new URL(req.url).pathname.slice(1);
    downloads.push(name);
    if (!/^[\w.-]+$/.test(name)) return new Response("bad name", { status: 400 });
    return await Deno.readFile(`${dir}/${name}`).then(
      (b) => new Response(b),
      () => new Response("not found", { status: 404 }),
    );
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    downloads,
    close: async () => {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A runner's job: its files and directories, and steps run the way the runner runs them. */
class Job {
  readonly outputs: Record<string, string> = {};
  readonly path: string[] = [];

  private constructor(readonly dir: string, readonly env: Record<string, string>) {}

  static async open(owner = 0): Promise<Job> {
    const dir = await Deno.makeTempDir({ prefix: "wgc-action-job-" });
    await Deno.chmod(dir, 0o755);
    for (const sub of ["temp", "tool-cache", "home"]) await Deno.mkdir(`${dir}/${sub}`);
    for (const f of ["output", "path", "env"]) await Deno.writeTextFile(`${dir}/${f}`, "");
    await run(["chown", "-R", `${owner}:${owner}`, dir]);
    return new Job(dir, {
      GITHUB_OUTPUT: `${dir}/output`,
      GITHUB_PATH: `${dir}/path`,
      GITHUB_ENV: `${dir}/env`,
      GITHUB_ACTION_PATH: ROOT,
      RUNNER_TEMP: `${dir}/temp`,
      RUNNER_TOOL_CACHE: `${dir}/tool-cache`,
      HOME: `${dir}/home`,
      CI: "true",
      GITHUB_ACTIONS: "true",
    });
  }

  /**
   * One step of action.yml: `sh action/NAME.sh` with the job's environment,
   * PATH as earlier steps extended it, and the step's `env:`; afterwards its
   * outputs are read from GITHUB_OUTPUT.
   */
  async step(
    name: string,
    env: Record<string, string>,
    opts: { prefix?: string[]; basePath?: string; ns?: string } = {},
  ): Promise<RunResult> {
    await Deno.writeTextFile(this.env.GITHUB_OUTPUT, "");
    const path = [...this.path, opts.basePath ?? Deno.env.get("PATH") ?? "/usr/bin:/bin"].join(":");
    const all = { ...this.env, ...env, PATH: path };
    const r = await run([
      ...(opts.prefix ?? []),
      "env",
      "-i",
      ...Object.entries(all).map(([k, v]) => `${k}=${v}`),
      "sh",
      `${ROOT}/action/${name}.sh`,
    ], { allowFailure: true, timeoutMs: 90_000, ns: opts.ns });
    for (const line of (await Deno.readTextFile(this.env.GITHUB_OUTPUT)).split("\n")) {
      const at = line.indexOf("=");
      if (at > 0) this.outputs[line.slice(0, at)] = line.slice(at + 1);
    }
    const added = (await Deno.readTextFile(this.env.GITHUB_PATH)).split("\n").filter(Boolean);
    for (const p of added) if (!this.path.includes(p)) this.path.unshift(p);
    return r;
  }

  async close(): Promise<void> {
    await Deno.remove(this.dir, { recursive: true });
  }
}

Deno.test("action.yml runs prepare, cache, setup and run in that order with the inputs the scripts read", async () => {
  const text = await Deno.readTextFile(`${ROOT}/action.yml`);
  const steps = [...text.matchAll(/sh "\$GITHUB_ACTION_PATH\/action\/(\w+)\.sh"/g)].map((m) =>
    m[1]
  );
  assert(steps.join(" ") === "prepare setup run", `steps: ${steps}`);
  assert(
    text.indexOf("actions/cache@") > text.indexOf("prepare.sh"),
    "the cache comes after prepare",
  );
  assert(text.indexOf("actions/cache@") < text.indexOf("setup.sh"), "the cache comes before setup");
  for (
    const env of [
      "INPUT_CONFIG",
      "INPUT_VERSION",
      "WGCAGE_ACTION_REF",
      "WGCAGE_VERSION",
      "WGCAGE_DIR",
    ]
  ) {
    assert(new RegExp(`^\\s+${env}: \\$\\{\\{`, "m").test(text), `action.yml passes no ${env}`);
  }
  // The config goes only to the step that masks it and to wgcage's --config-env.
  const uses = [...text.matchAll(/^\s+(\w+): \$\{\{ inputs\.config \}\}$/gm)].map((m) => m[1]);
  assert(uses.join(" ") === "INPUT_CONFIG WGCAGE_ACTION_CONFIG", `the config goes to ${uses}`);
});

Deno.test({
  name: "the action's steps mask the config, install the tag's release into the tool cache, " +
    "and run the command in a real cage without the config in its environment",
  sanitizeResources: false,
  fn: async () => {
    requireRoot("The action test");
    await requireTool("wireguard-go", "wireguard-go");
    const lab = await Lab.open();
    const release = await serveRelease(
      `#!/bin/sh\nexec "${Deno.execPath()}" run -A --quiet "${MAIN}" "$@"\n`,
    );
    const job = await Job.open();
    try {
      const ns = await lab.namespace("action");
      const { config } = await loopbackPeer(lab, ns);
      const configText = (await Deno.readTextFile(config)) + "# 100% of the traffic\n";
      const privateKey = /PrivateKey = (\S+)/.exec(configText)![1];

      const prepared = await job.step("prepare", {
        INPUT_CONFIG: configText,
        INPUT_VERSION: "",
        WGCAGE_ACTION_REF: "v0.1.0",
      });
      assert(prepared.code === 0, `prepare: ${prepared.stderr}`);
      const masks = prepared.stdout.split("\n").filter((l) => l.startsWith("::add-mask::"));
      for (const line of configText.split("\n").map((l) => l.trim()).filter(Boolean)) {
        const escaped = line.replaceAll("%", "%25");
        assert(masks.includes(`::add-mask::${escaped}`), `no mask for the line '${escaped}'`);
      }
      assert(masks.includes(`::add-mask::${privateKey}`), "the private key is not masked alone");
      assert(
        prepared.stdout.split("\n").every((l) => l === "" || l.startsWith("::add-mask::")),
        `prepare printed more than masks: ${prepared.stdout}`,
      );
      assert(job.outputs.version === "v0.1.0", `version ${job.outputs.version}`);
      assert(job.outputs.cacheable === "true", "a tagged release is not cached");
      assert(job.outputs.dir.startsWith(`${job.dir}/tool-cache/wgcage/v0.1.0/`), job.outputs.dir);

      const setupEnv = {
        WGCAGE_VERSION: job.outputs.version,
        WGCAGE_DIR: job.outputs.dir,
        WGCAGE_DOWNLOAD_URL: release.url,
      };
      const setup = await job.step("setup", setupEnv);
      assert(setup.code === 0, `setup: ${setup.stderr}`);
      assert(/^wgcage install: installed .*sha256 verified/m.test(setup.stdout), setup.stdout);
      assert(job.outputs.sudo === "false", `sudo ${job.outputs.sudo} as root`);
      assert(job.path[0] === job.outputs.bin, `PATH ${job.path}`);

      const ran = await job.step("run", {
        WGCAGE_ACTION_CONFIG: configText,
        WGCAGE_ACTION_RUN: "ls /sys/class/net | tr '\\n' ' '; echo; env; echo exit-ok",
        WGCAGE_BIN: job.outputs.bin,
      }, { ns: ns.name });
      assert(ran.code === 0, `run exited ${ran.code}: ${ran.stderr}`);
      assert(ran.stdout.startsWith("lo wg0 \n"), `the caged command saw: ${ran.stdout}`);
      assert(ran.stdout.trimEnd().endsWith("exit-ok"), ran.stdout);
      assert(
        !ran.stdout.includes("WGCAGE_ACTION_CONFIG"),
        "the config's variable reached the command",
      );
      assert(!ran.stdout.includes(privateKey), "the private key reached the command");

      // The cache restored the binary: no download the second time.
      const before = release.downloads.length;
      const again = await job.step("setup", setupEnv);
      assert(again.code === 0, `setup: ${again.stderr}`);
      assert(/from the cache/.test(again.stdout), again.stdout);
      assert(release.downloads.length === before, `downloaded ${release.downloads.slice(before)}`);

      // run without a config says what it needs.
      const noConfig = await job.step("run", {
        WGCAGE_ACTION_RUN: "true",
        WGCAGE_BIN: job.outputs.bin,
      });
      assert(
        noConfig.code === 1 && /needs the config input/.test(noConfig.stderr),
        noConfig.stderr,
      );
    } finally {
      await job.close();
      await release.close();
      await lab.close();
    }
  },
});

Deno.test("sudo mode: where this user cannot make user namespaces, wgcage runs through sudo from a root-owned directory the caged command cannot write, with PATH passed on", async () => {
  requireRoot("The action test (it runs the steps as a throwaway user with sudo)");
  await requireTool("sudo", "sudo");
  const user = await makeTestUser();
  const sudoers = `/etc/sudoers.d/${user.name}`;
  const release = await serveRelease('#!/bin/sh\necho "wgcage $* as $(id -u) PATH=$PATH"\n');
  const job = await Job.open(user.uid);
  const fakes = await Deno.makeTempDir({ prefix: "wgc-action-fakes-" });
  const system = await Deno.makeTempDir({ prefix: "wgc-action-system-" });
  try {
    await Deno.writeTextFile(sudoers, `${user.name} ALL=(ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
    await Deno.chmod(sudoers, 0o440);
    await Deno.chmod(fakes, 0o755);
    await Deno.chmod(system, 0o755);
    // User namespaces refused, as under ubuntu-24.04's AppArmor.
    await Deno.writeTextFile(`${fakes}/unshare`, "#!/bin/sh\nexit 1\n");
    await Deno.chmod(`${fakes}/unshare`, 0o755);
    const asUser = ["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups"];
    const basePath = `${fakes}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`;

    const prepared = await job.step("prepare", { INPUT_VERSION: "0.1.0" }, {
      prefix: asUser,
      basePath,
    });
    assert(prepared.code === 0, `prepare: ${prepared.stderr}`);
    assert(job.outputs.version === "v0.1.0", job.outputs.version);
    const setupEnv = {
      WGCAGE_VERSION: job.outputs.version,
      WGCAGE_DIR: job.outputs.dir,
      WGCAGE_DOWNLOAD_URL: release.url,
      WGCAGE_ACTION_SYSTEM_DIR: system,
    };
    const setup = await job.step("setup", setupEnv, { prefix: asUser, basePath });
    assert(setup.code === 0, `setup: ${setup.stderr}`);
    assert(job.outputs.sudo === "true", `sudo ${job.outputs.sudo}`);
    assert(/^wgcage action: sudo mode, because /m.test(setup.stdout), setup.stdout);
    assert(/^wgcage install: installed .*sha256 verified/m.test(setup.stdout), setup.stdout);
    const bin = job.outputs.bin;
    assert(bin === `${system}/v0.1.0/bin` && job.path[0] === bin, `bin ${bin}, PATH ${job.path}`);

    // Root owns the binary, the wrapper and their directories; the user can change none.
    const binary = `${system}/v0.1.0/wgcage`;
    for (const path of [binary, `${bin}/wgcage`, bin, `${system}/v0.1.0`]) {
      const st = await Deno.stat(path);
      assert(
        st.uid === 0 && st.gid === 0 && (st.mode! & 0o7777) === 0o755,
        `${path}: ${st.uid} ${st.mode}`,
      );
    }
    const poison = "#!/bin/sh\necho poisoned\n";
    for (const path of [binary, `${bin}/wgcage`]) {
      const w = await run([
        ...asUser,
        "sh",
        "-c",
        `printf '${poison}' > "$0" || rm -f "$0" || mv "$0" "$0.x"`,
        path,
      ], {
        allowFailure: true,
      });
      assert(w.code !== 0, `the user changed ${path}`);
    }
    // What the user can write, the tool cache, is never what sudo runs.
    await run([
      ...asUser,
      "sh",
      "-c",
      `mkdir -p "$0" && printf '${poison}' > "$0/wgcage" && chmod 755 "$0/wgcage"`,
      job.outputs.dir,
    ]);

    const path = `${bin}:${basePath}`;
    const r = await run([...asUser, "env", "-i", `PATH=${path}`, "wgcage", "demo"]);
    assert(r.stdout.trim() === `wgcage demo as 0 PATH=${path}`, r.stdout);

    // A later setup downloads and verifies again rather than take the cache's copy.
    const before = release.downloads.length;
    const again = await job.step("setup", setupEnv, { prefix: asUser, basePath });
    assert(again.code === 0, `setup: ${again.stderr}`);
    assert(release.downloads.length > before, "sudo mode took the binary from the tool cache");
    const r2 = await run([...asUser, "env", "-i", `PATH=${path}`, "wgcage", "demo"]);
    assert(r2.stdout.trim() === `wgcage demo as 0 PATH=${path}`, r2.stdout);
  } finally {
    await Deno.remove(sudoers).catch(() => {});
    await Deno.remove(system, { recursive: true });
    await Deno.remove(fakes, { recursive: true });
    await job.close();
    await release.close();
    await user.remove();
  }
});
