/**
 * A short command stores wgcage's compiled code: `wgcage version` run from
 * one bundled module (as the npm package runs it) leaves Deno's V8 code
 * cache holding that module, so the next start loads it instead of
 * compiling it (see the end of src/wgcage.ts). Deno writes the cache only
 * once its event loop turns; a command that exits first never had one.
 *
 * Needs `deno bundle` (esbuild from the npm registry or Deno's cache) and
 * the launcher's generated asset (`deno task build:launcher`).
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { run } from "./harness/process.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("wgcage version leaves the bundled module in Deno's code cache", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wgc-code-cache-" });
  try {
    const bundle = `${dir}/wgcage.js`;
    await run([
      Deno.execPath(),
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--no-lock",
      "--config",
      `${ROOT}deno.json`,
      "--output",
      bundle,
      `${ROOT}src/wgcage.ts`,
    ], { timeoutMs: 120_000 });
    const denoDir = `${dir}/deno`;
    // The flags the npm package's bin runs it with.
    const out = await run([
      "env",
      `DENO_DIR=${denoDir}`,
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      "--no-config",
      "--no-lock",
      "--v8-flags=--no-lazy",
      bundle,
      "version",
    ]);
    if (!out.stdout.startsWith("wgcage ")) throw new Error(`version printed: ${out.stdout}`);
    const db = new DatabaseSync(`${denoDir}/v8_code_cache_v2`, { readOnly: true });
    try {
      const rows = db.prepare("SELECT specifier FROM codecache").all()
        .map((r) => String(r.specifier));
      const url = new URL(`file://${bundle}`).href;
      if (!rows.includes(url)) {
        throw new Error(`no code cache for ${url}; the cache holds: ${rows.join(", ")}`);
      }
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
