/**
 * The npm package as a user gets it: `deno run -A tools/release.ts pack:npm`
 * packs it, `npx` runs it from the tarball (packages side by side), `npm
 * install -g --prefix DIR` installs it into an empty prefix (its `deno`
 * dependency comes from the npm registry, or npm's cache), and
 * the installed `wgcage` runs the demo and a caged command through a tunnel
 * to wireguard-go, as uid 65534, with a PATH on which no C compiler, no Deno
 * of the machine's and no Node can be found.
 *
 * Needs root (a namespace for the peer, a private TUN node), npm, and the npm
 * registry (or npm's cache) for the `deno` package.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { run } from "./harness/process.ts";
import { loopbackPeer, NOBODY, nobodyDenoDir, privateTunNode, rootlessArgv } from "./e2e/wgcage.ts";
import { VERSION } from "../src/version.ts";
import { dynamicImports, staticClosure } from "../tools/split_bundle.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** A directory of symlinks to the few tools the runs need: no cc, gcc, deno or node. */
async function bareTools(dir: string): Promise<string> {
  const bin = `${dir}/tools`;
  await Deno.mkdir(bin);
  for (const tool of ["sh", "readlink", "dirname", "uname", "ls"]) {
    const found = await run(["sh", "-c", `command -v ${tool}`]);
    await Deno.symlink(found.stdout.trim(), `${bin}/${tool}`);
  }
  return bin;
}

/** `argv` as uid 65534 with only `env`, seeing a 0666 TUN node over /dev/net/tun. */
async function asNobody(
  lab: Lab,
  env: Record<string, string>,
  argv: string[],
): Promise<string[]> {
  return rootlessArgv(await privateTunNode(lab, 0o666), env, argv, { clearEnv: true });
}

Deno.test({
  name: "the npm package installs from its tarball and runs the demo and a caged command " +
    "as an unprivileged user with no compiler, Deno or Node on PATH",
  sanitizeResources: false,
  fn: async () => {
    requireRoot("The npm package test");
    await requireTool("npm", "npm");
    await requireTool("wireguard-go", "wireguard-go");
    const lab = await Lab.open();
    try {
      const dir = await Deno.makeTempDir({ prefix: "wgc-npm-" });
      lab.defer(() => Deno.remove(dir, { recursive: true }));
      await Deno.chmod(dir, 0o755);

      const packed = await run(
        [Deno.execPath(), "run", "-A", `${ROOT}tools/release.ts`, "pack:npm", "--out", dir],
        { timeoutMs: 120_000 },
      );
      const tarball = `${dir}/wgcage-${VERSION}.tgz`;
      assert(packed.stdout.includes(tarball), `pack:npm printed: ${packed.stdout}`);

      // The package holds the bundle (wgcage.js and its chunks beside it), the launcher
      // script, its metadata, and in lib/ the binaries the bundle reads: the core and each
      // architecture's launcher and init; and each architecture's native join,
      // executable, which the bin runs for exec.
      const listed = (await run(["tar", "tzf", tarball])).stdout.trim().split("\n").sort();
      const libs = listed.filter((f) => /^package\/lib\/[0-9a-f]{16}\.bin$/.test(f));
      const chunks = listed.filter((f) =>
        /^package\/wgcage\.[A-Za-z0-9_]+-[A-Z0-9]{8}\.js$/.test(f)
      );
      assert(
        listed.filter((f) => !libs.includes(f) && !chunks.includes(f)).join(" ") ===
            "package/LICENSE package/README.md package/bin/wgcage " +
              "package/lib/aarch64/wgcage-join package/lib/x86_64/wgcage-join " +
              "package/package.json package/wgcage.js" &&
          libs.length === 5 && chunks.length > 5,
        `tarball holds: ${listed.join(" ")}`,
      );
      const modes = (await run(["tar", "tvzf", tarball])).stdout;
      assert(
        /^-rwxr-xr-x .* package\/lib\/x86_64\/wgcage-join$/m.test(modes),
        `the native join is not executable in the tarball: ${modes}`,
      );

      const prefix = `${dir}/prefix`;
      const started = performance.now();
      await run(
        ["npm", "install", "-g", "--prefix", prefix, "--no-audit", "--no-fund", tarball],
        { timeoutMs: 300_000 },
      );
      console.log(`npm install of the tarball: ${Math.round(performance.now() - started)} ms`);

      // A run loads wgcage.js and one chunk, which holds none of serve's code; every
      // chunk that any file imports was installed.
      const installed = `${prefix}/lib/node_modules/wgcage`;
      const modules = new Map<string, string>();
      for (const f of chunks.map((c) => c.slice("package/".length)).concat("wgcage.js")) {
        modules.set(f, await Deno.readTextFile(`${installed}/${f}`));
      }
      const runLoads = staticClosure(modules, "wgcage.js");
      assert(runLoads.length === 2, `a run loads ${runLoads.join(", ")}`);
      assert(
        !runLoads.some((f) => /^\/\/ (?:\S*\/)?src\/serve\//m.test(modules.get(f)!)),
        `a run's chunk holds serve's code`,
      );
      for (const [f, text] of modules) {
        staticClosure(modules, f);
        const missing = dynamicImports(text).filter((d) =>
          d.startsWith("./") && !modules.has(d.slice(2))
        );
        assert(missing.length === 0, `${f} imports ${missing.join(", ")}, not in the package`);
      }

      // npx lays packages out side by side (its own cache, made and removed here).
      const npx = await run(
        [
          "env",
          `npm_config_cache=${dir}/npx-cache`,
          "npm_config_update_notifier=false",
          "npx",
          "--yes",
          "--package",
          tarball,
          "wgcage",
          "version",
        ],
        { timeoutMs: 300_000 },
      );
      assert(npx.stdout.trim() === `wgcage ${VERSION} (deno 2.9.6)`, `npx printed: ${npx.stdout}`);

      const tools = await bareTools(dir);
      const env = {
        PATH: `${prefix}/bin:${tools}`,
        HOME: "/tmp",
        DENO_DIR: await nobodyDenoDir(lab),
      };
      const noCompiler = await run(
        await asNobody(lab, env, ["sh", "-c", "command -v cc gcc clang deno node"]),
        { allowFailure: true },
      );
      assert(noCompiler.stdout.trim() === "", `found on PATH: ${noCompiler.stdout}`);

      const demo = await run(await asNobody(lab, env, ["wgcage", "demo"]), {
        allowFailure: true,
        timeoutMs: 60_000,
      });
      assert(demo.code === 0, `demo exited ${demo.code}: ${demo.stderr}\n${demo.stdout}`);
      assert(demo.stdout.trimEnd().endsWith("demo: ok"), `demo printed: ${demo.stdout}`);

      // A caged command through a real tunnel to wireguard-go on the namespace's loopback.
      const ns = await lab.namespace("npm");
      const { config } = await loopbackPeer(lab, ns);
      await Deno.chown(config, NOBODY, NOBODY);
      const caged = await run(
        await asNobody(lab, env, ["wgcage", "--config", config, "--", "ls", "/sys/class/net"]),
        { ns: ns.name, allowFailure: true, timeoutMs: 60_000 },
      );
      assert(caged.code === 0, `wgcage exited ${caged.code}: ${caged.stderr}`);
      assert(
        caged.stdout.trim().split(/\s+/).sort().join(" ") === "lo wg0",
        `the caged command saw: ${caged.stdout}`,
      );
    } finally {
      await lab.close();
    }
  },
});

Deno.test("the npm package's bin execs Deno itself: no Node process stays in between", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wgc-npmbin-" });
  try {
    // A package laid out as npm lays it out, with a stand-in for the deno binary
    // that reports its own argv and which process it is.
    const pkg = `${dir}/lib/node_modules/wgcage`;
    await Deno.mkdir(`${pkg}/bin`, { recursive: true });
    await Deno.mkdir(`${pkg}/node_modules/@deno/linux-x64-glibc`, { recursive: true });
    await Deno.mkdir(`${pkg}/node_modules/@deno/linux-arm64-glibc`, { recursive: true });
    await Deno.copyFile(`${ROOT}npm/bin/wgcage`, `${pkg}/bin/wgcage`);
    await Deno.chmod(`${pkg}/bin/wgcage`, 0o755);
    for (const platform of ["linux-x64-glibc", "linux-arm64-glibc"]) {
      const fake = `${pkg}/node_modules/@deno/${platform}/deno`;
      await Deno.writeTextFile(fake, '#!/bin/sh\necho "pid $$ args $*"\n');
      await Deno.chmod(fake, 0o755);
    }
    await Deno.mkdir(`${dir}/bin`);
    await Deno.symlink("../lib/node_modules/wgcage/bin/wgcage", `${dir}/bin/wgcage`);

    // A PATH with uname alone: from npm's global layout the script finds its
    // package without readlink (a process of its own, ~1 ms).
    await Deno.mkdir(`${dir}/path`);
    await Deno.symlink(Deno.realPathSync("/usr/bin/uname"), `${dir}/path/uname`);
    const out = await run([
      "env",
      `PATH=${dir}/path`,
      "/bin/sh",
      "-c",
      `echo "pid $$"; exec "$0" version "a b"`,
      `${dir}/bin/wgcage`,
    ]);
    const [outer, inner] = out.stdout.trim().split("\n");
    // The same pid twice: sh exec'd the script, the script exec'd "deno".
    assert(inner.startsWith(`${outer} args run -A`), `ran: ${out.stdout}`);
    assert(inner.endsWith(`${pkg}/wgcage.js version a b`), `ran: ${inner}`);

    // Without any deno binary beside it: one line, exit 125.
    await Deno.remove(`${pkg}/node_modules`, { recursive: true });
    const missing = await run([`${dir}/bin/wgcage`, "version"], { allowFailure: true });
    assert(missing.code === 125, `exit ${missing.code}`);
    assert(missing.stderr.trim().split("\n").length === 1, missing.stderr);
    assert(/Cannot find the Deno binary/.test(missing.stderr), missing.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the packed npm package carries the Apache-2.0 licence: LICENSE and the license field", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wgc-npmlicence-" });
  try {
    await run(
      [Deno.execPath(), "run", "-A", `${ROOT}tools/release.ts`, "pack:npm", "--out", dir],
      { timeoutMs: 120_000 },
    );
    const tarball = `${dir}/wgcage-${VERSION}.tgz`;
    const manifest = JSON.parse(
      (await run(["tar", "xzOf", tarball, "package/package.json"])).stdout,
    );
    assert(manifest.license === "Apache-2.0", `license field: ${manifest.license}`);
    const licence = (await run(["tar", "xzOf", tarball, "package/LICENSE"])).stdout;
    assert(
      licence === await Deno.readTextFile(`${ROOT}LICENSE`),
      "LICENSE differs from the root's",
    );
    assert(/^\s*Apache License\s+Version 2\.0, January 2004/.test(licence), licence.slice(0, 200));
    assert(licence.includes("END OF TERMS AND CONDITIONS"), "LICENSE is not the whole text");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
