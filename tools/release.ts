/**
 * Release artifacts, from one command, into `dist/`:
 *
 * - `wgcage-x86_64-linux`, `wgcage-aarch64-linux`: one-file binaries from
 *   `deno compile`, each with its own architecture's launcher, init and
 *   `wgcage-join` (`build.ts --target ARCH`, Debian's cross gcc for the other
 *   one), which `wgcage exec` runs from memory as it does from source;
 * - `wgcage-<version>.tgz`: the npm package (`npm/`): wgcage bundled (`wgcage.js`
 *   and the chunks it loads, tools/split_bundle.ts) with
 *   the WASM core and both launchers embedded, run by the `deno` npm package,
 *   and each architecture's `wgcage-join` (`lib/ARCH/`), which its bin runs
 *   for `wgcage exec` without starting Deno;
 * - `install.sh`, the installer the README's curl line fetches from the release;
 * - `LICENSE`, the Apache License 2.0 the project is under (also in the npm package);
 * - `SHA256SUMS` over all of them, in `sha256sum -c` form.
 *
 * `deno compile` downloads its runtime (denort) for each target. Where it
 * cannot, `DENORT_BIN_X86_64` / `DENORT_BIN_AARCH64` name a denort binary for
 * that target (`DENORT_BIN` counts for the host's own); without one, that
 * binary is skipped with one line saying so, the rest is still built, and the
 * command exits 1 at the end unless `--partial` is given.
 *
 * Each compiled binary is checked before SHA256SUMS lists it: its ELF header
 * must name its architecture (a denort of the wrong one makes a binary of
 * the wrong one, under the right name), and the host's own must run and
 * print its version. A binary that fails is removed and the release refused,
 * `--partial` or not.
 *
 * Usage: `deno task release [--partial] [--out DIR]`, `deno task pack:npm [--out DIR]`
 * (the npm package only); `--out DIR` writes into DIR instead of dist/.
 *
 * @module
 */

import { VERSION } from "../src/version.ts";
import { assetHash, moveEmbeddedOutOfAll } from "./embedded_assets.ts";
import { splitBundle } from "./split_bundle.ts";

const root = new URL("../", import.meta.url);
const path = (rel: string) => new URL(rel, root).pathname;

/** Architectures as `Deno.build.arch` names them, with their compile targets. */
export const ARCHES = {
  x86_64: "x86_64-unknown-linux-gnu",
  aarch64: "aarch64-unknown-linux-gnu",
} as const;
export type Arch = keyof typeof ARCHES;

/** Each architecture's ELF e_machine (elf.h: EM_X86_64, EM_AARCH64). */
const ELF_MACHINES: Record<number, string> = { 62: "x86_64", 183: "aarch64" };

/** The modules src/wgcage.ts imports dynamically; `deno compile` must include them. */
const DYNAMIC_IMPORTS = [
  "src/launcher/_launcher_asset.ts",
  "src/launcher/_join_asset.ts",
  "src/cli/demo_command.ts",
  "src/cli/key_commands.ts",
  "src/cli/info_commands.ts",
];

/**
 * Files, not modules, that the program reads beside its modules; `deno
 * compile` embeds them in the binary's own file system: wgcage-join, which
 * `exec` reads (src/launcher/_join_asset.ts names it) and runs from a memfd.
 */
const COMPILE_FILES = ["src/launcher/wgcage-join"];

export class ReleaseError extends Error {}

async function run(
  cmd: string,
  args: string[],
  what: string,
  opts: { cwd?: string; env?: Record<string, string>; clearEnv?: string[] } = {},
): Promise<string> {
  let env: Record<string, string> | undefined;
  if (opts.env || opts.clearEnv) {
    env = { ...Deno.env.toObject(), ...opts.env };
    for (const name of opts.clearEnv ?? []) delete env[name];
  }
  const out = await new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    env,
    clearEnv: env !== undefined,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr);
    throw new ReleaseError(
      `Cannot ${what}: '${cmd} ${args[0] ?? ""}' failed:\n${stderr.trimEnd()}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** Builds the launcher and init for each architecture into target/ARCH/_launcher_asset.ts. */
async function buildLaunchers(): Promise<void> {
  for (const arch of Object.keys(ARCHES)) {
    await run(
      Deno.execPath(),
      ["run", "-A", path("build.ts"), "--target", arch],
      `build the ${arch} launcher`,
    );
  }
}

/**
 * A copy of src/ (and deno.json, for its compiler options) in `dir`, with
 * `src/launcher/_launcher_asset.ts` replaced by `launcherAsset` and `extra` files
 * added beside it. The tree itself is never changed.
 */
async function stageSource(
  dir: string,
  launcherAsset: string,
  extra: Record<string, string> = {},
): Promise<string> {
  await Deno.remove(dir, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  await Deno.mkdir(dir, { recursive: true });
  await run("cp", ["-R", path("src"), dir], "copy the sources");
  await Deno.copyFile(path("deno.json"), `${dir}deno.json`);
  await Deno.writeTextFile(`${dir}src/launcher/_launcher_asset.ts`, launcherAsset);
  for (const [rel, text] of Object.entries(extra)) await Deno.writeTextFile(`${dir}${rel}`, text);
  return dir;
}

function denortFor(arch: Arch, env: Record<string, string>): string | undefined {
  const own = env[`DENORT_BIN_${arch.toUpperCase()}`];
  if (own) return own;
  return arch === Deno.build.arch ? env.DENORT_BIN || undefined : undefined;
}

/**
 * The environment of `deno compile` for `arch`: the parent's, with DENORT_BIN
 * set to that architecture's denort or removed. DENORT_BIN is the host's
 * runtime: inherited as it is, it would stand in for another architecture's
 * and make a binary of the host's under the other's name.
 */
export function compileEnv(arch: Arch, parent: Record<string, string>): Record<string, string> {
  const env = { ...parent };
  delete env.DENORT_BIN;
  const denort = denortFor(arch, parent);
  if (denort) env.DENORT_BIN = denort;
  return env;
}

/**
 * Refuses a compiled binary that is not what its name says: its ELF header
 * must be a 64-bit little-endian executable for `arch`, and, for the host's
 * own architecture, `FILE version` must print this release's version. A
 * binary for the other architecture is checked by its header alone (running
 * it would need an emulator).
 */
export async function checkBinary(file: string, arch: Arch): Promise<void> {
  const name = file.replace(/^.*\//, "");
  const head = new Uint8Array(20);
  const f = await Deno.open(file);
  let n: number;
  try {
    n = (await f.read(head)) ?? 0;
  } finally {
    f.close();
  }
  const elf = n === 20 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c &&
    head[3] === 0x46;
  if (!elf || head[4] !== 2 || head[5] !== 1) {
    throw new ReleaseError(
      `Refusing ${name}: it is not a 64-bit little-endian ELF executable; ` +
        `check what DENORT_BIN_${arch.toUpperCase()} names`,
    );
  }
  const machine = head[18] | (head[19] << 8);
  if (ELF_MACHINES[machine] !== arch) {
    throw new ReleaseError(
      `Refusing ${name}: it is a binary for ${
        ELF_MACHINES[machine] ?? `ELF machine ${machine}`
      }, ` +
        `not ${arch}; set DENORT_BIN_${arch.toUpperCase()} to a denort for ${ARCHES[arch]}`,
    );
  }
  if (arch !== Deno.build.arch) return;
  const expected = `wgcage ${VERSION} (deno `;
  let said: string;
  try {
    const out = await new Deno.Command(file, {
      args: ["version"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    said = new TextDecoder().decode(out.stdout).split("\n")[0];
    if (out.success && said.startsWith(expected)) return;
    said = `exit ${out.code}, '${said}'`;
  } catch (e) {
    said = (e as Error).message;
  }
  throw new ReleaseError(
    `Refusing ${name}: '${name} version' should print '${expected}…' (${said}); ` +
      `check what DENORT_BIN_${arch.toUpperCase()} or DENORT_BIN names`,
  );
}

/** The last line of a failed `deno compile` that says why, without the backtrace. */
function compileCause(stderr: string): string {
  // deno colours its output; the cause is the deepest "N: …" line before the backtrace.
  // deno-lint-ignore no-control-regex
  const plain = stderr.replace(/\x1b\[[0-9;]*m/g, "");
  const causes = [...plain.matchAll(/^\s+\d+: (.+)$/gm)].map((m) => m[1]).filter((c) =>
    c !== "<unknown>"
  );
  return causes.at(-1) ?? plain.split("\n").find((l) => l.startsWith("error:")) ?? plain.trim();
}

/**
 * The sources `deno compile` makes `arch`'s binary from, in `dir`: src/ with
 * that architecture's launcher and init built in and its wgcage-join beside
 * the join asset (build.ts --target ARCH, done before).
 */
export async function stageCompileSource(arch: Arch, dir: string): Promise<string> {
  const asset = await Deno.readTextFile(path(`target/${arch}/_launcher_asset.ts`));
  const join = await Deno.readTextFile(path(`target/${arch}/_join_asset.ts`));
  await stageSource(dir, asset, { "src/launcher/_join_asset.ts": join });
  // Over the host's copy that came with src/.
  await Deno.copyFile(path(`target/${arch}/wgcage-join`), `${dir}src/launcher/wgcage-join`);
  return dir;
}

/**
 * `deno compile` for one architecture; returns the artifact's name, or
 * undefined after printing one line when the runtime could not be had.
 */
async function compileBinary(arch: Arch, out: string): Promise<string | undefined> {
  const name = `wgcage-${arch}-linux`;
  const dir = await stageCompileSource(arch, path(`target/stage/compile-${arch}/`));
  const args = [
    "compile",
    "-A",
    "--no-lock",
    "--config",
    `${dir}deno.json`,
    "--target",
    ARCHES[arch],
    ...[...DYNAMIC_IMPORTS, ...COMPILE_FILES].flatMap((m) => ["--include", `${dir}${m}`]),
    "--output",
    `${out}/${name}`,
    // The program itself, not src/main.ts: that one only picks between build.ts's
    // bundle and the modules when run from source.
    `${dir}src/wgcage.ts`,
  ];
  const compiled = await new Deno.Command(Deno.execPath(), {
    args,
    env: compileEnv(arch, Deno.env.toObject()),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (compiled.success) return name;
  const stderr = new TextDecoder().decode(compiled.stderr);
  const cause = compileCause(stderr);
  if (/denort|dl\.deno\.land|error sending request|dns error/i.test(stderr)) {
    console.error(
      `release: skipped ${out}/${name}: deno compile cannot get its ${ARCHES[arch]} runtime ` +
        `(${cause}); set DENORT_BIN_${arch.toUpperCase()}=/path/to/denort` +
        (arch === Deno.build.arch ? " (or DENORT_BIN)" : "") +
        " or build where dl.deno.land is reachable",
    );
    return undefined;
  }
  throw new ReleaseError(`Cannot compile ${out}/${name}: ${cause}\n${stderr.trimEnd()}`);
}

/** The launcher module of the npm package: both architectures, picked when loaded. */
const NPM_LAUNCHER_ASSET = `// @generated by tools/release.ts — do not edit.
// The launcher and init for the machine running this module, out of the two
// prebuilt ones (build.ts --target x86_64 / aarch64).
import * as x86_64 from "./_launcher_asset_x86_64.ts";
import * as aarch64 from "./_launcher_asset_aarch64.ts";

const builds: Record<string, typeof x86_64> = { x86_64, aarch64 };
const build = builds[Deno.build.arch];
if (!build) {
  throw new Error(\`wgcage has no launcher for \${Deno.build.arch}; it runs on x86_64 and aarch64\`);
}
export const launcherHash: string = build.launcherHash;
export const launcherUrl: string = build.launcherUrl;
export const initUrl: string = build.initUrl;
`;

/**
 * The npm package's join asset: bin/wgcage runs lib/ARCH/wgcage-join itself;
 * the bundle's \`exec\` (run without the bin) reads the same file, not a copy.
 */
const NPM_JOIN_ASSET = `// @generated by tools/release.ts — do not edit.
export const joinUrl: string =
  new URL(\`./lib/\${Deno.build.arch}/wgcage-join\`, import.meta.url).href;
`;

/** The binaries the npm bundle embeds: the core, and a launcher and an init per architecture. */
const NPM_EMBEDDED_COUNT = 1 + 2 * Object.keys(ARCHES).length;

/** Builds OUT/wgcage-VERSION.tgz (staged in `stage`); returns its name. Expects buildLaunchers() done. */
async function packNpm(out: string, stage: string): Promise<string> {
  const extra: Record<string, string> = { "src/launcher/_join_asset.ts": NPM_JOIN_ASSET };
  for (const arch of Object.keys(ARCHES)) {
    extra[`src/launcher/_launcher_asset_${arch}.ts`] = await Deno.readTextFile(
      path(`target/${arch}/_launcher_asset.ts`),
    );
  }
  const dir = await stageSource(stage, NPM_LAUNCHER_ASSET, extra);
  const pkg = `${dir}package/`;
  await Deno.mkdir(`${pkg}bin`, { recursive: true });
  // wgcage.js and its chunks (wgcage.<name>-<hash>.js) side by side at the
  // package's root: a run loads wgcage.js and one chunk, each other command
  // its own chunk when used; node: built-ins stay imports.
  let files: Map<string, string>;
  try {
    files = await splitBundle({
      root: dir,
      entry: "src/wgcage.ts",
      work: `${dir}split/`,
      name: "wgcage.js",
      deno: (args, what, env) => run(Deno.execPath(), args, what, { env }),
    });
  } catch (e) {
    if (e instanceof ReleaseError) throw e;
    throw new ReleaseError(`Cannot bundle wgcage for npm: ${(e as Error).message}`);
  }
  // The core and both architectures' launcher and init, as files in lib/.
  await Deno.mkdir(`${pkg}lib`, { recursive: true });
  // And each architecture's wgcage-join, which bin/wgcage runs for `exec`
  // (without Deno) by the name the machine's architecture gives.
  for (const arch of Object.keys(ARCHES)) {
    await Deno.mkdir(`${pkg}lib/${arch}`, { recursive: true });
    await Deno.copyFile(path(`target/${arch}/wgcage-join`), `${pkg}lib/${arch}/wgcage-join`);
    await Deno.chmod(`${pkg}lib/${arch}/wgcage-join`, 0o755);
  }
  try {
    await moveEmbeddedOutOfAll(files, NPM_EMBEDDED_COUNT, async (bytes) => {
      const name = `lib/${await assetHash(bytes)}.bin`;
      await Deno.writeFile(`${pkg}${name}`, bytes);
      // The cage's init is exec'd from its file (src/launcher/binary_file.ts),
      // under sudo by the invoking user: executable by all, like bin/wgcage.
      await Deno.chmod(`${pkg}${name}`, 0o755);
      return `./${name}`;
    });
  } catch (e) {
    throw new ReleaseError(`Cannot bundle wgcage for npm: ${(e as Error).message}`);
  }
  for (const [name, text] of files) {
    const head = name !== "wgcage.js" ? "" : (
      `// wgcage ${VERSION}: src/wgcage.ts bundled by tools/release.ts; it reads the WireGuard\n` +
      `// core (WebAssembly) and its machine's launcher and init from lib/, and loads the\n` +
      `// code of each command but a run from a wgcage.*.js beside it. Run by bin/wgcage.\n`
    );
    await Deno.writeTextFile(`${pkg}${name}`, head + text);
  }
  const manifest = JSON.parse(await Deno.readTextFile(path("npm/package.json")));
  manifest.version = VERSION;
  await Deno.writeTextFile(`${pkg}package.json`, JSON.stringify(manifest, null, 2) + "\n");
  await Deno.copyFile(path("npm/README.md"), `${pkg}README.md`);
  // The licence's text beside its SPDX id (npm/package.json's license field).
  await Deno.copyFile(path("LICENSE"), `${pkg}LICENSE`);
  await Deno.copyFile(path("npm/bin/wgcage"), `${pkg}bin/wgcage`);
  await Deno.chmod(`${pkg}bin/wgcage`, 0o755);
  const name = `wgcage-${VERSION}.tgz`;
  await run(
    "npm",
    ["pack", "--silent", "--pack-destination", out],
    "pack the npm package",
    {
      cwd: pkg,
    },
  );
  await Deno.stat(`${out}/${name}`).catch(() => {
    throw new ReleaseError(`Cannot pack the npm package: npm pack did not write ${out}/${name}`);
  });
  return name;
}

async function sha256File(file: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(file));
  return new Uint8Array(digest).toHex();
}

/** Writes dist/SHA256SUMS over `names`, in the form `sha256sum -c` reads. */
export async function writeSums(dir: string, names: string[]): Promise<void> {
  const lines = [];
  for (const name of [...names].sort()) {
    lines.push(`${await sha256File(`${dir}/${name}`)}  ${name}`);
  }
  await Deno.writeTextFile(`${dir}/SHA256SUMS`, lines.join("\n") + "\n");
}

/** Removes what an earlier run left in `out`, so that no stale artifact is summed. */
async function clearDist(names: string[], out = path("dist")): Promise<void> {
  await Deno.mkdir(out, { recursive: true });
  for (const name of [...names, "SHA256SUMS"]) {
    await Deno.remove(`${out}/${name}`).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
}

async function release(partial: boolean, out: string): Promise<number> {
  const binaries = Object.keys(ARCHES).map((a) => `wgcage-${a}-linux`);
  await clearDist([...binaries, `wgcage-${VERSION}.tgz`, "install.sh", "LICENSE"], out);
  await buildLaunchers();
  const built: string[] = [];
  const skipped: string[] = [];
  for (const arch of Object.keys(ARCHES) as Arch[]) {
    const name = await compileBinary(arch, out);
    if (!name) {
      skipped.push(`wgcage-${arch}-linux`);
      continue;
    }
    try {
      await checkBinary(`${out}/${name}`, arch);
    } catch (e) {
      // Not left where an upload of the directory would take it.
      await Deno.remove(`${out}/${name}`);
      throw e;
    }
    built.push(name);
  }
  built.push(await packNpm(out, path("target/stage/npm/")));
  await Deno.copyFile(path("install.sh"), `${out}/install.sh`);
  await Deno.chmod(`${out}/install.sh`, 0o755);
  built.push("install.sh");
  await Deno.copyFile(path("LICENSE"), `${out}/LICENSE`);
  built.push("LICENSE");
  await writeSums(out, built);
  console.log(`release: wrote ${out}/ ${[...built, "SHA256SUMS"].join(" ")}`);
  if (skipped.length === 0) return 0;
  console.error(
    `release: missing ${skipped.join(", ")} (see above)${partial ? "; --partial" : ""}`,
  );
  return partial ? 0 : 1;
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const at = rest.indexOf("--out");
  const out = at >= 0 ? rest[at + 1] : undefined;
  const unknown = rest.filter((a, i) =>
    (at < 0 || (i !== at && i !== at + 1)) && !(command === "release" && a === "--partial")
  );
  if ((command !== "release" && command !== "pack:npm") || unknown.length > 0 || out === "") {
    console.error(
      `release: Unknown arguments '${args.join(" ")}'; ` +
        "use 'release [--partial] [--out DIR]' or 'pack:npm [--out DIR]'",
    );
    return 2;
  }
  try {
    if (command === "release") {
      const dest = out === undefined ? path("dist") : await Deno.realPath(out);
      return await release(rest.includes("--partial"), dest.replace(/\/$/, ""));
    }
    if (out === undefined) await clearDist([`wgcage-${VERSION}.tgz`]);
    const dest = out === undefined ? path("dist") : await Deno.realPath(out);
    const stage = out === undefined ? path("target/stage/npm/") : `${dest}/stage/`;
    await buildLaunchers();
    console.log(`release: wrote ${dest}/${await packNpm(dest, stage)}`);
    return 0;
  } catch (e) {
    if (e instanceof ReleaseError) {
      console.error(`release: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
