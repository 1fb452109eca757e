/**
 * wgcage from source: `deno run -A src/main.ts [options] -- cmd args…` starts
 * the program, {@link ./wgcage.ts}, which says what everything else does.
 *
 * Loaded module by module, the program is ~100 modules that `deno run` reads
 * and links before its first line runs: about 7 ms of wgcage's start-up. So
 * build.ts (`deno task build:launcher`, which every task runs) also writes it
 * as one module, `target/wgcage.bundle.js`, with a manifest of the files it was
 * made from, each by size and modification time. While all of them are
 * unchanged, the bundle runs; otherwise (a file edited since, or no bundle)
 * the modules do, so an edit takes effect at once and the next build bundles
 * it. Checking the manifest costs about 1 ms.
 *
 * Both are imported by a computed specifier: `deno run` reads every module
 * that a literal `import("…")` names before it starts. The type import
 * keeps the program in the module graph (`deno check`, `deno info`) and is
 * gone at run time. The npm package and the compiled binaries are built from
 * wgcage.ts itself.
 *
 * @module
 */

import type { main } from "./wgcage.ts";

/** The repository's root as a path, ending in `/`. */
const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const BUNDLE = `${ROOT}target/wgcage.bundle.js`;
const MANIFEST = `${ROOT}target/wgcage.bundle.json`;

/** What build.ts writes beside the bundle: its own and each source file's size and mtime (ms). */
interface BundleManifest {
  bundle: [number, number];
  files: [string, number, number][];
}

function unchanged(path: string, size: number, mtime: number): boolean {
  try {
    // lstat of a path: a cold Deno takes about as long again for a stat or a URL.
    // A symbolic link never matches (build.ts records plain files only).
    const info = Deno.lstatSync(path);
    return info.isFile && info.size === size && info.mtime?.getTime() === mtime;
  } catch {
    return false;
  }
}

/** Whether the bundle is there and was made from the files as they are now. */
function bundleIsCurrent(): boolean {
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(Deno.readTextFileSync(MANIFEST));
  } catch {
    return false;
  }
  return unchanged(BUNDLE, ...manifest.bundle) &&
    manifest.files.every(([file, size, mtime]) => unchanged(ROOT + file, size, mtime));
}

if (import.meta.main) {
  const program: { main: typeof main } = await import(
    bundleIsCurrent() ? `file://${BUNDLE}` : new URL("./wgcage.ts", import.meta.url).href
  );
  Deno.exit(await program.main(Deno.args));
}
