/**
 * wgcage as users install it: the npm package packed from this tree
 * (`tools/release.ts pack:npm`) and installed with npm into a prefix of its
 * own (the `deno` dependency from the registry or npm's cache). The benches
 * time and measure this form by default, since it is the one users run; its
 * bin execs `deno run --no-config --no-lock wgcage.js`, the bundle's main
 * module (with the one chunk a run loads beside it).
 *
 * @module
 */

import { run } from "../tests/harness/process.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Packs and installs the package under `dir`; returns the path of its `wgcage` bin. */
export async function installNpmPackage(dir: string): Promise<string> {
  const { VERSION } = await import("../src/version.ts");
  await run([Deno.execPath(), "run", "-A", `${ROOT}tools/release.ts`, "pack:npm", "--out", dir], {
    timeoutMs: 120_000,
  });
  const prefix = `${dir}/npm`;
  await run([
    "npm",
    "install",
    "-g",
    "--prefix",
    prefix,
    "--no-audit",
    "--no-fund",
    `${dir}/wgcage-${VERSION}.tgz`,
  ], { timeoutMs: 300_000 });
  const bin = `${prefix}/bin/wgcage`;
  // Deno writes its code cache for wgcage.js on the first run; a measured run
  // should not be that one, as none of the user's are after the first.
  await run([bin, "version"]);
  return bin;
}
