/**
 * Builds the two native halves of wgcage and embeds them as generated modules:
 *
 * - `wasm/` (Rust, Debian's rustc for wasm32 + simd128) → `src/wg/_wasm_asset.ts`,
 *   committed; `--check` rebuilds it and fails when the committed one differs.
 * - the `@abi` sections of `wasm/src/messages.rs` → `src/wg/abi.ts` and
 *   `launcher/abi.h`, committed; `--check` fails when either is stale.
 * - `launcher/` (C, the system `cc`) → `src/launcher/_launcher_asset.ts`, generated on
 *   each machine (not committed), rebuilt only when its sources change; and
 *   `launcher/join_main/` → `src/launcher/wgcage-join`, which `src/launcher/_join_asset.ts`
 *   names, beside them.
 * - `src/wgcage.ts` and every module it imports, the launcher's asset included
 *   → `target/wgcage.bundle.js` (`deno bundle`), which loads one chunk beside
 *   it for a run and others when used (tools/split_bundle.ts), with
 *   `target/wgcage.bundle.json` listing each file it was made from by size and
 *   modification time; `src/main.ts` runs the bundle while that list still
 *   holds, else the modules. Rebuilt only when a file changed; `--check`
 *   fails when it cannot be made.
 *
 * Usage: `deno task build` (both), `deno task build --check`,
 * `deno task build:launcher` (the launcher only), `deno run -A build.ts
 * --target aarch64` (the launcher for another architecture, with Debian's
 * cross compiler, into `target/aarch64/_launcher_asset.ts`; for releases).
 *
 * @module
 */

import { assetHash, moveEmbeddedOutOfAll } from "./tools/embedded_assets.ts";
import { splitBundle } from "./tools/split_bundle.ts";

const root = new URL("./", import.meta.url);
const path = (rel: string) => new URL(rel, root).pathname;

const RUSTC = Deno.env.get("WGCAGE_RUSTC") ?? "/usr/bin/rustc";
const CC = Deno.env.get("CC") ?? "cc";

const WASM_FLAGS = [
  "--edition",
  "2021",
  "--crate-type",
  "cdylib",
  "--crate-name",
  "wgcore",
  "--target",
  "wasm32-unknown-unknown",
  "-C",
  "opt-level=3",
  // LLVM's inliner at a threshold of 100 (-O3's is 250): the core is 21 %
  // smaller (176 → 139 KB), which V8 compiles in ~2.5 ms less at every run's
  // start (start-up, paired runs) and holds in ~5 MiB less (rss_mib 62.8 →
  // 57.7), while the data path, whose hot functions are small enough to
  // inline still, keeps its speed (bench:crypto, bench:throughput).
  "-C",
  "llvm-args=-inline-threshold=100",
  "-C",
  "target-feature=+simd128",
  "-C",
  "panic=abort",
  "-C",
  "lto=fat",
  "-C",
  "codegen-units=1",
  "-C",
  "debuginfo=0",
  "-C",
  "strip=symbols",
];

const CC_FLAGS = [
  "-std=c11",
  "-O2",
  "-fPIC",
  "-shared",
  "-Wall",
  "-Wextra",
  "-Werror",
  // Every exported function is declared in its header (fd.h, packet_io.h, …).
  "-Wmissing-prototypes",
  "-D_GNU_SOURCE",
  // Every symbol bound at load: the cage's child never enters the dynamic
  // linker, whose data it may have unmapped (launcher/release.h).
  "-Wl,-z,now",
];

/**
 * The cage's init (launcher/init/): a small program of its own, exec'd from
 * its file or a memfd (src/launcher/binary_file.ts). Static (no PT_INTERP):
 * a joined init starts in the live cage's mount namespace, whose dynamic
 * loader and /etc/ld.so.preload are the command's to change; a static init
 * loads nothing from the file system. It makes no NSS call (the groups come
 * computed from the launcher), which static glibc cannot serve. Stripped:
 * ~0.7 MB instead of ~0.8.
 */
const INIT_FLAGS = [
  "-std=c11",
  "-O2",
  "-fPIE",
  "-static-pie",
  "-s",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-Wmissing-prototypes",
  "-D_GNU_SOURCE",
  "-Wl,-z,now",
];

/**
 * `wgcage-join` (launcher/join_main/): `wgcage exec` without Deno, with the
 * launcher's own join and control-socket code and the init inside it
 * (init_image.S). Static, for the init's reason and for start-up: it loads
 * no library (~1 ms less per join). The launcher's sources are compiled in
 * whole and what the join does not call is dropped at link time; NSS is
 * wrapped out (nss_static.c: a sudo join goes through Deno).
 */
const JOIN_FLAGS = [
  ...INIT_FLAGS,
  "-ffunction-sections",
  "-fdata-sections",
  "-Wl,--gc-sections",
  "-Wl,--wrap=getpwuid",
  "-Wl,--wrap=getgrouplist",
];

/**
 * Launcher targets for release builds (`--target ARCH`), named as
 * `Deno.build.arch` names them; each compiles with Debian's cross gcc
 * (`gcc-aarch64-linux-gnu`), or the compiler in `CC_<ARCH>`.
 */
const TARGETS = ["x86_64", "aarch64"] as const;
type Target = typeof TARGETS[number];

class BuildError extends Error {}

async function run(
  cmd: string,
  args: string[],
  what: string,
  env?: Record<string, string>,
): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new BuildError(`Cannot ${what}: '${cmd}' not found; ${installHint(cmd)}`);
    }
    throw e;
  }
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new BuildError(`Cannot ${what}: '${cmd}' failed:\n${stderr.trimEnd()}`);
  }
  if (stderr.trim() !== "") {
    // Warnings fail the build: the C build has -Werror, Rust has no such switch here.
    throw new BuildError(`Cannot ${what}: '${cmd}' printed warnings:\n${stderr.trimEnd()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

function installHint(cmd: string): string {
  if (cmd === RUSTC) {
    return "install Debian's Rust with the wasm32 standard library: " +
      "apt-get install rustc libstd-rust-dev-wasm32 (or set WGCAGE_RUSTC)";
  }
  if (cmd === "aarch64-linux-gnu-gcc") {
    return "install Debian's cross compiler: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross";
  }
  return "install a C compiler (apt-get install gcc) or use a release binary, which needs none";
}

async function sha256Hex(parts: (string | Uint8Array)[]): Promise<string> {
  const enc = new TextEncoder();
  const chunks = parts.map((p) => typeof p === "string" ? enc.encode(p + "\0") : p);
  const total = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    total.set(c, at);
    at += c.length;
  }
  const digest = await crypto.subtle.digest("SHA-256", total);
  return new Uint8Array(digest).toHex();
}

async function sourceFiles(dir: string, exts: string[]): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(path(dir))) {
    if (entry.isFile && exts.some((e) => entry.name.endsWith(e))) found.push(`${dir}${entry.name}`);
  }
  return found.sort();
}

/** Hash of everything that determines a build's output: sources, flags and toolchain. */
async function inputsHash(files: string[], flags: string[], toolVersion: string): Promise<string> {
  const parts: (string | Uint8Array)[] = [toolVersion, ...flags];
  for (const f of files) parts.push(f, await Deno.readFile(path(f)));
  return await sha256Hex(parts);
}

function assetModule(name: string, hash: string, bytes: Uint8Array, what: string): string {
  // One literal on one line: a chain of a few thousand `+` makes TypeScript's
  // checker overflow its stack (seen at ~2,500 lines of the WASM core).
  return [
    `// @generated by build.ts — do not edit. ${what}`,
    `// source-hash: ${hash}`,
    `// bytes: ${bytes.length}`,
    `export const ${name}Hash = "${hash}";`,
    `export const ${name}: Uint8Array = Uint8Array.fromBase64(`,
    `  "${bytes.toBase64()}"`,
    `);`,
    ``,
  ].join("\n");
}

/**
 * The launcher's asset module: the library and the init, each as a `data:` URL
 * of its bytes, which tools/embedded_assets.ts turns into the `file:` URL of
 * the file it moves them to in a bundle, so that a run maps or execs that file
 * and reads nothing at start (src/launcher/binary_file.ts). Raise the number
 * when the form changes: it is hashed with the sources, and an asset in the
 * old form is then built again.
 */
const LAUNCHER_ASSET_FORM = "launcher asset form 2";

function launcherModule(hash: string, bytes: Uint8Array, initBytes: Uint8Array): string {
  const url = (b: Uint8Array) => `  "data:application/octet-stream;base64,${b.toBase64()}";`;
  return [
    "// @generated by build.ts — do not edit. The native launcher, from launcher/, and the",
    "// cage's init, from launcher/init/.",
    `// source-hash: ${hash}`,
    `// bytes: ${bytes.length}, init ${initBytes.length}`,
    `export const launcherHash = "${hash}";`,
    "/** The launcher library: its bytes as a `data:` URL, or its file's `file:` URL. */",
    "export const launcherUrl: string =",
    url(bytes),
    "/** The cage's init program, as {@linkcode launcherUrl}. */",
    "export const initUrl: string =",
    url(initBytes),
    "",
  ].join("\n");
}

/**
 * The join asset: the URL of `wgcage-join` beside it, not its bytes. A
 * module holding its 1.7 MB as base64 takes V8 ~17 ms to load (~30 as
 * TypeScript), against ~2 ms to read the file, and the compiled binary reads
 * it from its embedded files (tools/release.ts --include's it). The bundle's
 * chunk of this module lies in target/, beside the target/wgcage-join built
 * with it.
 */
function joinModule(hash: string, size: number): string {
  return [
    "// @generated by build.ts — do not edit. `wgcage exec`'s native program, from",
    "// launcher/join_main/: the file wgcage-join beside this module.",
    `// source-hash: ${hash}`,
    `// bytes: ${size}`,
    'export const joinUrl: string = new URL("./wgcage-join", import.meta.url).href;',
    "",
  ].join("\n");
}

function headerHash(text: string): string | undefined {
  return /^\/\/ source-hash: ([0-9a-f]{64})$/m.exec(text)?.[1];
}

async function readIfExists(p: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(p);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

async function buildWasm(): Promise<{ bytes: Uint8Array; hash: string }> {
  const version = (await run(RUSTC, ["--version"], "build the WASM core")).trim();
  const files = await sourceFiles("wasm/src/", [".rs"]);
  const hash = await inputsHash(files, WASM_FLAGS, version);
  await Deno.mkdir(path("target"), { recursive: true });
  const out = path("target/wgcore.wasm");
  await run(RUSTC, [
    ...WASM_FLAGS,
    `--remap-path-prefix=${path("")}=`,
    path("wasm/src/lib.rs"),
    "-o",
    out,
  ], "build the WASM core");
  return { bytes: await Deno.readFile(out), hash };
}

const WASM_ASSET = "src/wg/_wasm_asset.ts";
const LAUNCHER_ASSET = "src/launcher/_launcher_asset.ts";
const JOIN_ASSET = "src/launcher/_join_asset.ts";

async function wasmCommand(check: boolean): Promise<void> {
  const { bytes, hash } = await buildWasm();
  const text = assetModule("wasmBytes", hash, bytes, "The WireGuard core, from wasm/.");
  if (check) {
    const committed = await readIfExists(path(WASM_ASSET));
    if (committed === text) {
      console.log(`build: ${WASM_ASSET} is up to date (source-hash ${hash.slice(0, 16)}…)`);
      return;
    }
    const found = committed ? headerHash(committed) ?? "none" : "no file";
    throw new BuildError(
      `${WASM_ASSET} is stale: found hash ${found.slice(0, 16)}…, expected ${hash.slice(0, 16)}…` +
        (committed && headerHash(committed) === hash ? " (same sources, different bytes)" : "") +
        "; run `deno task build` and commit the result",
    );
  }
  await Deno.writeTextFile(path(WASM_ASSET), text);
  console.log(`build: wrote ${WASM_ASSET} (${bytes.length} bytes of wasm)`);
}

// ---- The ABI's numbers: wasm/src/messages.rs → src/wg/abi.ts, launcher/abi.h ----
//
// The `// @abi begin` … `// @abi end` sections of messages.rs are the one
// source of every number the host and the core exchange; the TypeScript and C
// sides are generated from them (committed) and checked like the WASM asset.

const ABI_SOURCE = "wasm/src/messages.rs";
const ABI_TS = "src/wg/abi.ts";
const ABI_C = "launcher/abi.h";
/** TypeScript names that differ from Rust's: `Error` would hide the global. */
const ABI_TS_NAMES: Readonly<Record<string, string>> = { Error: "CoreError" };

interface AbiConst {
  readonly kind: "const";
  readonly name: string;
  readonly value: number;
  readonly doc: readonly string[];
  /** A blank line stood before it in the source (kept, to keep the groups). */
  readonly gap: boolean;
}

interface AbiVariant {
  readonly name: string;
  readonly value: number;
  readonly doc: readonly string[];
}

interface AbiEnum {
  readonly kind: "enum";
  readonly name: string;
  readonly variants: readonly AbiVariant[];
  readonly doc: readonly string[];
  readonly gap: boolean;
}

type AbiItem = AbiConst | AbiEnum;

const ABI_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  u32: [0, 0xFFFF_FFFF],
  usize: [0, 0xFFFF_FFFF], // wasm32
  i32: [-0x8000_0000, 0x7FFF_FFFF],
};

/** Reads the `@abi` sections of messages.rs (the forms its module comment allows). */
function parseAbi(text: string): AbiItem[] {
  const items: AbiItem[] = [];
  const values = new Map<string, number>();
  let inSection = false;
  let doc: string[] = [];
  let gap = false;
  let repr: string | undefined;
  let open: { name: string; variants: AbiVariant[]; doc: string[]; gap: boolean } | undefined;
  const lines = text.split("\n");
  const fail = (i: number, why: string): never => {
    throw new BuildError(
      `Cannot generate the ABI: ${ABI_SOURCE}:${i + 1}: ${why}: '${lines[i].trim()}'`,
    );
  };
  const number = (i: number, term: string): number => {
    if (/^[0-9][0-9_]*$/.test(term)) return Number(term.replaceAll("_", ""));
    if (/^0x[0-9a-fA-F_]+$/.test(term)) return Number(term.replaceAll("_", ""));
    if (term === "u32::MAX") return 0xFFFF_FFFF;
    const known = values.get(term);
    if (known === undefined) fail(i, `'${term}' is not a number or a constant above it`);
    return known!;
  };
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "// @abi begin" || line === "// @abi end") {
      const begin = line.endsWith("begin");
      if (begin === inSection || open) fail(i, "unbalanced @abi markers");
      inSection = begin;
      doc = [];
      gap = items.length > 0;
      continue;
    }
    if (!inSection) continue;
    if (line === "") {
      gap = true;
      continue;
    }
    if (line.startsWith("///")) {
      doc.push(line.slice(3).trim());
      continue;
    }
    if (line.startsWith("#[derive(")) continue;
    const reprMatch = /^#\[repr\((u32|i32)\)\]$/.exec(line);
    if (reprMatch) {
      repr = reprMatch[1];
      continue;
    }
    if (open) {
      const variant = /^([A-Z][A-Za-z0-9]*) = (-?[0-9]+),$/.exec(line);
      if (variant) {
        open.variants.push({ name: variant[1], value: Number(variant[2]), doc });
      } else if (line === "}") {
        items.push({ kind: "enum", ...open });
        open = undefined;
      } else {
        fail(i, "not an enum variant `Name = number,`");
      }
      doc = [];
      continue;
    }
    const constant = /^pub const ([A-Z][A-Z0-9_]*): (u32|usize|i32) = (.+);$/.exec(line);
    const enumStart = /^pub enum ([A-Z][A-Za-z0-9]*) \{$/.exec(line);
    if (constant) {
      const [, name, type, expr] = constant;
      const value = expr.split("+").map((t) => number(i, t.trim())).reduce((a, b) => a + b);
      const [min, max] = ABI_RANGES[type];
      if (value < min || value > max) fail(i, `${value} does not fit ${type}`);
      if (values.has(name)) fail(i, `${name} is defined twice`);
      values.set(name, value);
      items.push({ kind: "const", name, value, doc, gap });
    } else if (enumStart) {
      if (!repr) fail(i, "an enum needs #[repr(u32)] or #[repr(i32)]");
      open = { name: enumStart[1], variants: [], doc, gap };
    } else {
      fail(i, "not a `pub const NAME: u32 | usize | i32 = VALUE;` or a #[repr] enum");
    }
    doc = [];
    gap = false;
    repr = undefined;
  }
  if (inSection) throw new BuildError(`Cannot generate the ABI: ${ABI_SOURCE}: no '// @abi end'`);
  if (items.length === 0) {
    throw new BuildError(`Cannot generate the ABI: ${ABI_SOURCE} has no @abi section`);
  }
  return items;
}

function abiLiteral(value: number, c: boolean): string {
  if (value <= 0x7FFF_FFFF) return String(value);
  return `0x${value.toString(16).toUpperCase()}${c ? "u" : ""}`;
}

function abiHeader(hash: string): string[] {
  return [
    `// @generated by build.ts from ${ABI_SOURCE} — do not edit.`,
    `// source-hash: ${hash}`,
  ];
}

/** `/** … *\/` above a TypeScript item, indented by `indent`. */
function tsDoc(doc: readonly string[], indent = ""): string[] {
  if (doc.length === 0) return [];
  if (doc.length === 1) return [`${indent}/** ${doc[0]} */`];
  return [`${indent}/**`, ...doc.map((d) => `${indent} * ${d}`.trimEnd()), `${indent} */`];
}

function abiTs(items: readonly AbiItem[], hash: string): string {
  const out = [
    ...abiHeader(hash),
    "/**",
    " * The numbers the WireGuard core's ABI speaks in: sizes, the layout of the",
    " * batch descriptor and the other records, and the enums. Generated from the",
    ` * \`@abi\` sections of \`${ABI_SOURCE}\`, their one source.`,
    " *",
    " * @module",
    " */",
    "",
  ];
  for (const item of items) {
    if ((item.gap || item.kind === "enum") && out.at(-1) !== "") out.push("");
    out.push(...tsDoc(item.doc));
    if (item.kind === "const") {
      out.push(`export const ${item.name} = ${abiLiteral(item.value, false)};`);
      continue;
    }
    const name = ABI_TS_NAMES[item.name] ?? item.name;
    out.push(`export const ${name} = {`);
    for (const v of item.variants) out.push(...tsDoc(v.doc, "  "), `  ${v.name}: ${v.value},`);
    out.push("} as const;", `export type ${name} = typeof ${name}[keyof typeof ${name}];`);
  }
  return out.join("\n") + "\n";
}

/** `BadMac1` → `BAD_MAC1`. */
function upperSnake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

function cDoc(doc: readonly string[]): string[] {
  if (doc.length === 0) return [];
  if (doc.length === 1) return [`/* ${doc[0]} */`];
  return doc.map((d, i) => `${i === 0 ? "/*" : " *"} ${d}${i === doc.length - 1 ? " */" : ""}`);
}

function abiC(items: readonly AbiItem[], hash: string): string {
  const out = [
    ...abiHeader(hash),
    "/*",
    " * abi.h — the numbers the WireGuard core's ABI speaks in: sizes, the layout of",
    " * the batch descriptor and the other records, and the enums. Generated from the",
    ` * @abi sections of ${ABI_SOURCE}, their one source.`,
    " */",
    "#ifndef WGL_ABI_H",
    "#define WGL_ABI_H",
    "",
  ];
  for (const item of items) {
    if ((item.gap || item.kind === "enum") && out.at(-1) !== "") out.push("");
    out.push(...cDoc(item.doc));
    if (item.kind === "const") {
      out.push(`#define WG_${item.name} ${abiLiteral(item.value, true)}`);
      continue;
    }
    const snake = upperSnake(item.name);
    out.push(`enum wg_${snake.toLowerCase()} {`);
    for (const v of item.variants) {
      out.push(
        ...cDoc(v.doc).map((d) => `  ${d}`),
        `  WG_${snake}_${upperSnake(v.name)} = ${v.value},`,
      );
    }
    out.push("};");
  }
  out.push("", "#endif");
  return out.join("\n") + "\n";
}

/** Writes src/wg/abi.ts and launcher/abi.h from messages.rs, or (`check`) fails when either differs. */
async function abiCommand(check: boolean): Promise<void> {
  const source = await Deno.readFile(path(ABI_SOURCE));
  const hash = await sha256Hex([source]);
  const items = parseAbi(new TextDecoder().decode(source));
  const stale: string[] = [];
  for (const [file, text] of [[ABI_TS, abiTs(items, hash)], [ABI_C, abiC(items, hash)]]) {
    const committed = await readIfExists(path(file));
    if (committed === text) continue;
    if (check) {
      const found = committed ? headerHash(committed) ?? "none" : "no file";
      const same = found === hash ? " (same source, different text: edited by hand?)" : "";
      stale.push(
        `${file}: found hash ${found.slice(0, 16)}…, expected ${hash.slice(0, 16)}…${same}`,
      );
      continue;
    }
    await Deno.writeTextFile(path(file), text);
    console.log(`build: wrote ${file} (from ${ABI_SOURCE})`);
  }
  if (stale.length > 0) {
    throw new BuildError(
      `the ABI is stale: ${stale.join("; ")}; run \`deno task build\` and commit the result`,
    );
  }
  if (check) {
    console.log(`build: ${ABI_TS} and ${ABI_C} are up to date (source-hash ${hash.slice(0, 16)}…)`);
  }
}

/** Where one launcher build goes: the host's into src/, a `--target` one under target/ARCH/. */
interface LauncherOutput {
  readonly cc: string;
  readonly dir: string;
  readonly asset: string;
  /**
   * The module naming `wgcage exec`'s native program, which lies beside it
   * as `wgcage-join` (src/live/native_join.ts reads it and execs it from memory).
   */
  readonly joinAsset: string;
}

const HOST_LAUNCHER: LauncherOutput = {
  cc: CC,
  dir: "target/",
  asset: LAUNCHER_ASSET,
  joinAsset: JOIN_ASSET,
};

function targetLauncher(arch: Target): LauncherOutput {
  const cc = Deno.env.get(`CC_${arch.toUpperCase()}`) ?? `${arch}-linux-gnu-gcc`;
  return {
    cc,
    dir: `target/${arch}/`,
    asset: `target/${arch}/_launcher_asset.ts`,
    joinAsset: `target/${arch}/_join_asset.ts`,
  };
}

async function launcherCommand(output: LauncherOutput): Promise<void> {
  const cc = (await run(output.cc, ["--version"], "build the launcher")).split("\n")[0];
  const version = `${cc}; ${LAUNCHER_ASSET_FORM}`;
  const files = await sourceFiles("launcher/", [".c", ".h"]);
  const initFiles = await sourceFiles("launcher/init/", [".c", ".h"]);
  const joinFiles = await sourceFiles("launcher/join_main/", [".c", ".h", ".S"]);
  if (!files.some((f) => f.endsWith(".c")) || !initFiles.some((f) => f.endsWith(".c"))) {
    throw new BuildError("Cannot build the launcher: launcher/ or launcher/init/ has no C sources");
  }
  const hash = await inputsHash(
    [...files, ...initFiles, ...joinFiles],
    [...CC_FLAGS, ...INIT_FLAGS, ...JOIN_FLAGS],
    version,
  );
  const existing = await readIfExists(path(output.asset));
  const existingJoin = await readIfExists(path(output.joinAsset));
  const joinBeside = path(output.joinAsset.replace(/[^/]+$/, "wgcage-join"));
  if (
    existing && headerHash(existing) === hash && existingJoin &&
    headerHash(existingJoin) === hash && (await fileStamps([joinBeside])) !== undefined
  ) {
    return;
  }
  await Deno.mkdir(path(output.dir), { recursive: true });
  // Each file is written under a name of this process's, then renamed into
  // place: builds running at once (parallel tests) never read a half-written one.
  const part = `.part${Deno.pid}`;
  const out = path(`${output.dir}libwgcage_launcher.so`);
  await run(
    output.cc,
    [...CC_FLAGS, ...files.filter((f) => f.endsWith(".c")).map(path), "-o", out + part],
    "build the launcher",
  );
  const initOut = path(`${output.dir}wgcage-init`);
  await run(
    output.cc,
    [...INIT_FLAGS, ...initFiles.filter((f) => f.endsWith(".c")).map(path), "-o", initOut + part],
    "build the cage's init",
  );
  const joinOut = path(`${output.dir}wgcage-join`);
  await run(
    output.cc,
    [
      ...JOIN_FLAGS,
      `-DWGJ_INIT_PATH="${initOut + part}"`,
      ...[...files, ...joinFiles].filter((f) => /\.[cS]$/.test(f)).map(path),
      "-o",
      joinOut + part,
    ],
    "build wgcage-join",
  );
  await Deno.rename(out + part, out);
  await Deno.rename(initOut + part, initOut);
  await Deno.rename(joinOut + part, joinOut);
  const bytes = await Deno.readFile(out);
  const initBytes = await Deno.readFile(initOut);
  await Deno.writeTextFile(
    path(output.asset) + part,
    launcherModule(hash, bytes, initBytes),
  );
  // Its own module, which only `wgcage exec` loads, and the program beside it.
  if (joinBeside !== joinOut) {
    await Deno.copyFile(joinOut, joinBeside + part);
    await Deno.rename(joinBeside + part, joinBeside);
  }
  const joinSize = (await Deno.stat(joinBeside)).size;
  await Deno.writeTextFile(path(output.joinAsset) + part, joinModule(hash, joinSize));
  await Deno.rename(path(output.joinAsset) + part, path(output.joinAsset));
  await Deno.rename(path(output.asset) + part, path(output.asset));
  console.log(
    `build: wrote ${output.asset} (${bytes.length} bytes, init ${initBytes.length} bytes)`,
  );
}

// ---- The program bundled: src/wgcage.ts → target/wgcage.bundle.js and its chunks ----
//
// From source, `deno run` loads and links ~100 modules before wgcage's first
// line runs (about 7 ms of a 60 ms start); the bundle takes about 1. A run
// loads two of its files, the main module and the chunk of what a run needs;
// each other command's code is a chunk loaded when it is used
// (tools/split_bundle.ts), named target/wgcage.bundle.<name>-<hash>.js.
// src/main.ts picks the bundle only while every file it was made from has the
// size and modification time the manifest recorded, so an edit takes effect at
// once (from the modules) and the next build bundles it.
//
// The embedded binaries (the WASM core, the launcher, the init) leave the
// bundle for files beside it, named by their hash, which it reads when loaded:
// V8 takes ~5 ms longer to load a module that holds them as ~0.5 MB of base64.

const BUNDLE_ENTRY = "src/wgcage.ts";
const BUNDLE = "target/wgcage.bundle.js";
const BUNDLE_MANIFEST = "target/wgcage.bundle.json";

/**
 * What src/main.ts reads: the main module's, each file it loads besides
 * (its chunks and the binaries: "assets") and each source file's [size, mtime in ms].
 */
interface BundleManifest {
  bundle: [number, number];
  assets: [string, number, number][];
  files: [string, number, number][];
}

/** How many binaries src/wgcage.ts embeds: the WASM core, the launcher and the init. */
const EMBEDDED_COUNT = 3;

/** An asset or chunk no manifest names is removed once it is this old (a reader may hold an older manifest). */
const STALE_ASSET_MS = 60 * 60 * 1000;

/**
 * Writes `bytes` to target/ under `name` unless a file of that name and size
 * is there: names are content hashes, and a file left as it was keeps the
 * size and time that a reader's manifest holds.
 */
async function writeNamed(name: string, bytes: Uint8Array, part: string): Promise<string> {
  const file = `target/${name}`;
  if ((await fileStamps([file]))?.[0][1] !== bytes.length) {
    await Deno.writeFile(path(file + part), bytes);
    await Deno.rename(path(file + part), path(file));
  }
  // 0755: the cage's init, among the assets, is exec'd from its file, under sudo by the user.
  if (name.endsWith(".bin")) await Deno.chmod(path(file), 0o755);
  return file;
}

/**
 * Each embedded binary of `files` read from a file beside the bundle
 * instead, written (by hash) unless there; returns those files.
 */
async function moveAssetsOut(files: Map<string, string>, part: string): Promise<string[]> {
  const assets: string[] = [];
  try {
    await moveEmbeddedOutOfAll(files, EMBEDDED_COUNT, async (bytes) => {
      const name = `wgcage.bundle.${await assetHash(bytes)}.bin`;
      assets.push(await writeNamed(name, bytes, part));
      return `./${name}`;
    });
  } catch (e) {
    throw new BuildError(`Cannot bundle ${BUNDLE_ENTRY}: ${(e as Error).message}`);
  }
  return assets;
}

/** The file names of what build.ts writes beside the main module: assets and chunks. */
const BESIDE_BUNDLE = /^wgcage\.bundle\.(?:[0-9a-f]{16}\.bin|[A-Za-z0-9_]+-[A-Z0-9]{8}\.js)$/;

/** Removes the assets and chunks that `keep` does not name and no build wrote within the hour. */
async function pruneAssets(keep: readonly string[]): Promise<void> {
  for await (const entry of Deno.readDir(path("target"))) {
    const asset = `target/${entry.name}`;
    if (!BESIDE_BUNDLE.test(entry.name) || keep.includes(asset)) continue;
    const info = await Deno.lstat(path(asset)).catch(() => undefined);
    if (info?.mtime && Date.now() - info.mtime.getTime() > STALE_ASSET_MS) {
      await Deno.remove(path(asset)).catch(() => {});
    }
  }
}

/** The local files of `entry`'s module graph (dynamic imports included), as paths from the root. */
async function moduleFiles(entry: string): Promise<string[]> {
  const out = await run(
    Deno.execPath(),
    ["info", "--json", "--no-lock", "--config", path("deno.json"), path(entry)],
    `list the modules of ${entry}`,
  );
  const info = JSON.parse(out) as { modules: { specifier: string }[] };
  return info.modules
    .map((m) => m.specifier)
    .filter((s) => s.startsWith(root.href))
    .map((s) => decodeURIComponent(s.slice(root.href.length)))
    .sort();
}

/** [path, size, mtime in ms] of each file, or undefined when one is missing or not a plain file. */
async function fileStamps(files: string[]): Promise<[string, number, number][] | undefined> {
  const stamps: [string, number, number][] = [];
  for (const f of files) {
    const info = await Deno.lstat(path(f)).catch(() => undefined);
    if (!info?.isFile || info.mtime === null) return undefined;
    stamps.push([f, info.size, info.mtime.getTime()]);
  }
  return stamps;
}

async function bundleIsCurrent(files: [string, number, number][]): Promise<boolean> {
  const text = await readIfExists(path(BUNDLE_MANIFEST));
  if (text === undefined) return false;
  const manifest = JSON.parse(text) as BundleManifest;
  const bundle = (await fileStamps([BUNDLE]))?.[0];
  const assets = await fileStamps((manifest.assets ?? []).map(([f]) => f));
  return bundle !== undefined && bundle[1] === manifest.bundle[0] &&
    bundle[2] === manifest.bundle[1] && manifest.assets !== undefined &&
    JSON.stringify(assets) === JSON.stringify(manifest.assets) &&
    JSON.stringify(manifest.files) === JSON.stringify(files);
}

/**
 * Writes target/wgcage.bundle.js and its manifest when a source file changed.
 * When `deno bundle` fails (it fetches esbuild from npm on first use), says so
 * in one line and goes on (wgcage then starts from its modules), unless `check`.
 */
async function bundleCommand(check: boolean): Promise<void> {
  const files = await fileStamps(await moduleFiles(BUNDLE_ENTRY));
  if (files === undefined) {
    throw new BuildError(`Cannot bundle ${BUNDLE_ENTRY}: a module is missing`);
  }
  if (await bundleIsCurrent(files)) return;
  const part = `.part${Deno.pid}`;
  let assets: string[];
  try {
    let split: Map<string, string>;
    try {
      split = await splitBundle({
        root: path(""),
        entry: BUNDLE_ENTRY,
        work: path(`target/bundle${part}/`),
        name: BUNDLE.replace(/^.*\//, ""),
        deno: (args, what, env) => run(Deno.execPath(), args, what, env),
      });
    } catch (e) {
      if (e instanceof BuildError) throw e;
      throw new BuildError(`Cannot bundle ${BUNDLE_ENTRY}: ${(e as Error).message}`);
    }
    assets = await moveAssetsOut(split, part);
    // The chunks beside it, named by their content: a process loading an
    // older main module finds the chunks it names.
    const [main, ...chunks] = split.keys();
    for (const chunk of chunks) {
      assets.push(await writeNamed(chunk, new TextEncoder().encode(split.get(chunk)!), part));
    }
    await Deno.writeTextFile(path(BUNDLE + part), split.get(main)!);
    // A file edited while deno bundle read them: this bundle may hold either version.
    const after = await fileStamps(files.map(([f]) => f));
    if (JSON.stringify(after) !== JSON.stringify(files)) {
      throw new BuildError(
        `Cannot bundle ${BUNDLE_ENTRY}: its files changed meanwhile; build again`,
      );
    }
  } catch (e) {
    await Deno.remove(path(BUNDLE + part)).catch(() => {});
    if (check || !(e instanceof BuildError)) throw e;
    console.error(
      `build: skipped ${BUNDLE}: ${e.message.split("\n")[0]}; ` +
        "wgcage starts from its modules instead (some ms slower)",
    );
    return;
  }
  // The assets and the bundle first, then the manifest that names their sizes and
  // times: src/main.ts never takes a manifest for files it does not describe.
  await Deno.rename(path(BUNDLE + part), path(BUNDLE));
  const [, size, mtime] = (await fileStamps([BUNDLE]))![0];
  const manifest: BundleManifest = {
    bundle: [size, mtime],
    assets: (await fileStamps(assets))!,
    files,
  };
  await Deno.writeTextFile(path(BUNDLE_MANIFEST + part), JSON.stringify(manifest) + "\n");
  await Deno.rename(path(BUNDLE_MANIFEST + part), path(BUNDLE_MANIFEST));
  await pruneAssets(assets);
  console.log(
    `build: wrote ${BUNDLE} (${files.length} modules, ${size} bytes; ${assets.length} chunks and assets)`,
  );
}

async function main(args: string[]): Promise<number> {
  const check = args.includes("--check");
  const launcherOnly = args.includes("--launcher");
  const at = args.indexOf("--target");
  const arch = at >= 0 ? args[at + 1] : undefined;
  const unknown = args.filter((a, i) =>
    a !== "--check" && a !== "--launcher" && (at < 0 || (i !== at && i !== at + 1))
  );
  if (unknown.length > 0) {
    console.error(`build: Unknown option '${unknown[0]}'; use --check, --launcher or --target`);
    return 2;
  }
  if (at >= 0 && !TARGETS.includes(arch as Target)) {
    console.error(`build: Unknown target '${arch ?? ""}'; use --target ${TARGETS.join(" or ")}`);
    return 2;
  }
  try {
    // A cross target builds the launcher only: the WASM core is the same everywhere.
    if (at >= 0) {
      await launcherCommand(targetLauncher(arch as Target));
      return 0;
    }
    if (!launcherOnly) {
      await abiCommand(check);
      await wasmCommand(check);
    }
    await launcherCommand(HOST_LAUNCHER);
    await bundleCommand(check);
    return 0;
  } catch (e) {
    if (e instanceof BuildError) {
      console.error(`build: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
