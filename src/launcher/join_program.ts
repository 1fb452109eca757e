/**
 * The bytes of `wgcage exec`'s native program (launcher/join_main/,
 * `wgcage-join`) for this build. The generated `_join_asset.ts` names its
 * file: beside that module from source (build.ts; the bundle's chunk finds
 * target/wgcage-join beside it) and in the compiled binary (build.ts
 * `--target ARCH`, embedded by tools/release.ts), `lib/ARCH/wgcage-join` in
 * the npm package. A module of its own, loaded by `exec` alone.
 *
 * @module
 */

import { binaryBytes } from "./binary_file.ts";

/** The native join program, or why this build has none (its asset or file is missing). */
export async function joinProgramBytes(): Promise<Uint8Array | string> {
  try {
    return binaryBytes((await import("./_join_asset.ts")).joinUrl);
  } catch (e) {
    return (e instanceof Error ? e.message : String(e)).split("\n")[0];
  }
}
