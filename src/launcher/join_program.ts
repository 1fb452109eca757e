/**
 * Where `wgcage exec`'s native program (launcher/join_main/, `wgcage-join`)
 * is for this build, as the generated launcher asset names it: this tree's
 * `target/wgcage-join` (build.ts), the npm package's `lib/ARCH/wgcage-join`
 * (tools/release.ts), or none (the compiled binary).
 *
 * @module
 */

/** The native join's path, or undefined when this build has none. */
export async function joinProgramPath(): Promise<string | undefined> {
  return (await import("./_launcher_asset.ts")).joinProgramPath;
}
