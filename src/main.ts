/**
 * wgcage from source: `deno run -A src/main.ts [options] -- cmd args…` starts
 * the program, {@link ./wgcage.ts}, which says what everything else does.
 *
 * Loaded module by module, the program is ~100 modules that `deno run` reads
 * and links before its first line runs: about 7 ms of wgcage's start-up. So
 * build.ts (`deno task build:launcher`, which every task runs) also bundles
 * it: `target/wgcage.bundle.js`, which a run loads with one chunk beside it
 * (the other commands' code is in chunks loaded when used), with a manifest
 * of the files it was made from, each by size and modification time. While
 * all of them are unchanged, the bundle runs; otherwise (a file edited since,
 * or no bundle) the modules do, so an edit takes effect at once and the next
 * build bundles it. Checking the manifest costs about 1 ms. The bundle reads
 * the binaries wgcage embeds from files beside it (faster to load than base64
 * in a module).
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

/**
 * What build.ts writes beside the bundle: the size and mtime (ms) of the
 * bundle's main module, of each file it loads besides (its chunks; the
 * binaries: the WASM core, the launcher, the init) and of each source file it
 * was made from. A chunk is checked like the rest: one missing would fail a
 * command only once it is used.
 */
interface BundleManifest {
  bundle: [number, number];
  assets: [string, number, number][];
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
  if (!Array.isArray(manifest.assets) || !Array.isArray(manifest.files)) return false;
  const same = ([file, size, mtime]: [string, number, number]) =>
    unchanged(ROOT + file, size, mtime);
  return unchanged(BUNDLE, ...manifest.bundle) && manifest.assets.every(same) &&
    manifest.files.every(same);
}

if (import.meta.main) {
  const modules = new URL("./wgcage.ts", import.meta.url).href;
  // A bundle that cannot load (an asset or a chunk removed meanwhile by a
  // build) has run nothing of wgcage yet: the modules take over.
  const program: { main: typeof main } = bundleIsCurrent()
    ? await import(new URL("../target/wgcage.bundle.js", import.meta.url).href)
      .catch(() => import(modules))
    : await import(modules);
  Deno.exit(await program.main(Deno.args));
}
