/**
 * The bytes of `wgcage exec`'s native program (launcher/join_main/,
 * `wgcage-join`) for this build, from the generated `_join_asset.ts`: built
 * into it by build.ts from source and in the compiled binary (build.ts
 * `--target ARCH`, tools/release.ts), read from `lib/ARCH/wgcage-join` in
 * the npm package. Its own module, loaded by `exec` alone: ~1.7 MB that no
 * other command needs.
 *
 * @module
 */

/** The native join program, or why this build has none (its asset is missing or unreadable). */
export async function joinProgramBytes(): Promise<Uint8Array | string> {
  try {
    return (await import("./_join_asset.ts")).joinBytes;
  } catch (e) {
    return (e instanceof Error ? e.message : String(e)).split("\n")[0];
  }
}
