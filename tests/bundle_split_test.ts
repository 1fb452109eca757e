/**
 * build.ts's bundle as a run loads it: target/wgcage.bundle.js and the chunk
 * it imports hold what `wgcage --config c -- cmd` needs and no code of the
 * commands a run never calls (serve, server, the live tools, the demo, the
 * key commands) nor of what only some runs use (the relay and its proxies,
 * the help text), which are chunks loaded when used; every chunk and asset is
 * in the manifest src/main.ts checks; and the bundle runs, lazy chunks
 * included, run directly as the npm package's bin runs its module and from
 * src/main.ts.
 *
 * Needs a C compiler (build.ts builds the launcher first) and Deno's bundler
 * (esbuild, from the npm registry or Deno's cache).
 *
 * @module
 */

import { run } from "./harness/process.ts";
import { assert } from "./cage/assert.ts";
import { dynamicImports, staticClosure } from "../tools/split_bundle.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const MAIN = "wgcage.bundle.js";

/**
 * The source files a run must not load, as the bundler's `// src/…` line
 * before each module's code names them.
 */
const NOT_IN_A_RUN = [
  /^\/\/ (?:\S*\/)?src\/serve\/\S+\.ts$/m,
  /^\/\/ (?:\S*\/)?src\/demo\/\S+\.ts$/m,
  /^\/\/ (?:\S*\/)?src\/cli\/(?:serve|server|demo|up|exec|down|ls)_command\.ts$/m,
  /^\/\/ (?:\S*\/)?src\/cli\/(?:live_tools|key_commands|info_commands)\.ts$/m,
  /^\/\/ (?:\S*\/)?src\/forward\/(?:forwarder|socks|http_proxy)\.ts$/m,
  /^\/\/ (?:\S*\/)?src\/cli\/(?:usage|command_help)\.ts$/m,
];

let building: Promise<Map<string, string>> | undefined;

/** The bundle's files in target/, by name, after a build (one for the file's tests). */
function builtBundle(): Promise<Map<string, string>> {
  building ??= build();
  return building;
}

async function build(): Promise<Map<string, string>> {
  const built = await run([Deno.execPath(), "run", "-A", `${ROOT}build.ts`, "--launcher"], {
    allowFailure: true,
    timeoutMs: 300_000,
  });
  assert(built.code === 0 && !/skipped/.test(built.stderr), `build.ts: ${built.stderr}`);
  const files = new Map<string, string>();
  for await (const e of Deno.readDir(`${ROOT}target`)) {
    if (/^wgcage\.bundle\.(?:.+\.)?js$/.test(e.name)) {
      files.set(e.name, await Deno.readTextFile(`${ROOT}target/${e.name}`));
    }
  }
  return files;
}

/** Every file `main` loads, now or on demand (static and dynamic imports, transitively). */
function reachable(files: Map<string, string>, main: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    for (const f of staticClosure(files, file)) {
      if (seen.has(f)) continue;
      seen.add(f);
      for (const d of dynamicImports(files.get(f)!)) {
        if (d.startsWith("./")) visit(d.slice(2));
      }
    }
  };
  visit(main);
  return [...seen];
}

Deno.test("a run loads two files of the bundle, with no serve, server, live-tool, demo, key-command, relay or help code", async () => {
  const files = await builtBundle();
  const loaded = staticClosure(files, MAIN);
  assert(loaded.length === 2, `a run loads ${loaded.join(", ")}`);
  const all = reachable(files, MAIN);
  for (const marker of NOT_IN_A_RUN) {
    const where = loaded.filter((f) => marker.test(files.get(f)!));
    assert(where.length === 0, `${where.join(", ")} holds ${marker.exec(files.get(where[0])!)}`);
    // The marker names real code: the commands are there, in chunks of their own.
    assert(all.some((f) => marker.test(files.get(f)!)), `no chunk holds ${marker}`);
  }
});

Deno.test("no chunk is named in a string literal of a dynamic import: Deno would read it before the first line", async () => {
  const files = await builtBundle();
  for (const name of reachable(files, MAIN)) {
    const text = files.get(name)!;
    const literal = [...text.matchAll(/\bimport\(\s*["'](\.\/[^"']+)["']/g)].map((m) => m[1]);
    assert(literal.length === 0, `${name} imports ${literal.join(", ")} by a literal`);
  }
  // The deferred form still names them: the tests above and the manifest find them.
  assert(dynamicImports(files.get(MAIN)!).length > 10, "the main module defers no command");
});

Deno.test("a run's own chunk loads on demand only the launcher's and the relay's chunks", async () => {
  // Both are imported before the cage is cloned (prepareLauncher at start,
  // the relay in Tunnel.open before Cage.begin): a caged command that could
  // write the package's files finds no chunk of its own run left to load.
  // Another import() in a run's code must keep to that, and be added here.
  const files = await builtBundle();
  const [, chunk] = staticClosure(files, MAIN);
  const onDemand = dynamicImports(files.get(chunk)!).filter((d) => !d.startsWith("node:"))
    .map((d) => d.replace(/^\.\/wgcage\.bundle\.|-[A-Z0-9]{8}\.js$/g, "")).sort();
  assert(
    JSON.stringify(onDemand) === JSON.stringify(["_launcher_asset", "forwarder"]),
    `the run chunk imports ${onDemand.join(", ")}`,
  );
});

Deno.test("the manifest names every chunk and asset the bundle loads, as they are", async () => {
  const files = await builtBundle();
  const manifest = JSON.parse(await Deno.readTextFile(`${ROOT}target/wgcage.bundle.json`)) as {
    assets: [string, number, number][];
  };
  const named = new Map(manifest.assets.map(([f, size, mtime]) => [f, [size, mtime]]));
  const chunks = reachable(files, MAIN).filter((f) => f !== MAIN);
  const assets = chunks.flatMap((f) =>
    [...files.get(f)!.matchAll(/new URL\("\.\/([^"]+\.bin)", import\.meta\.url\)/g)]
      .map((m) => m[1])
  );
  const needed = [...chunks, ...assets];
  assert(needed.length > 4, `the bundle loads only ${needed.join(", ")}`);
  for (const f of needed) {
    const stamp = named.get(`target/${f}`);
    assert(stamp !== undefined, `the manifest does not name target/${f}`);
    const info = await Deno.lstat(`${ROOT}target/${f}`);
    assert(
      info.size === stamp[0] && info.mtime?.getTime() === stamp[1],
      `target/${f} is not as the manifest says`,
    );
  }
});

Deno.test("the bundle runs a command from a lazy chunk, directly and from src/main.ts", async () => {
  await builtBundle();
  const direct = [
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    "--no-config",
    "--no-lock",
    `${ROOT}target/${MAIN}`,
  ];
  const key = await run([...direct, "genkey"]);
  assert(/^[A-Za-z0-9+/]{43}=\n$/.test(key.stdout), `genkey printed ${key.stdout}`);
  const pub = await run([Deno.execPath(), "run", "-A", `${ROOT}src/main.ts`, "pubkey"], {
    stdin: key.stdout,
  });
  assert(/^[A-Za-z0-9+/]{43}=\n$/.test(pub.stdout), `pubkey printed ${pub.stdout}`);
  const version = await run([...direct, "version"]);
  assert(version.stdout.startsWith("wgcage "), `version printed ${version.stdout}`);
  // A usage error: its one line, exit 125.
  const bad = await run([...direct, "--no-such-option"], { allowFailure: true });
  assert(bad.code === 125, `exit ${bad.code}: ${bad.stderr}`);
  assert(bad.stderr.startsWith("wgcage: Unknown option '--no-such-option'"), bad.stderr);
});
