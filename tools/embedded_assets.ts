/**
 * The binaries wgcage embeds (the WASM core, the launcher and the cage's
 * init, as `Uint8Array.fromBase64("…")` literals of the generated asset
 * modules), moved out of a bundle into files beside it that the bundle reads
 * when loaded: V8 takes ~5 ms longer to load a module that holds them as
 * base64. Used by build.ts (the bundle from source) and tools/release.ts (the
 * npm package), on each file of a bundle split into chunks (tools/split_bundle.ts).
 *
 * @module
 */

/**
 * An embedded binary as the bundler leaves it: one base64 literal, either
 * decoded in place (the WASM core), which becomes a read of its file, or a
 * `data:` URL (the launcher and the init, src/launcher/binary_file.ts), which
 * becomes the file's `file:` URL, read or mapped only when and if needed.
 */
const EMBEDDED =
  /Uint8Array\.fromBase64\(\s*"([A-Za-z0-9+/]{4096,}={0,2})"\s*\)|"data:application\/octet-stream;base64,([A-Za-z0-9+/]{4096,}={0,2})"/g;

/** The first 16 hex digits of SHA-256 of `bytes`: the name part of an asset file. */
export async function assetHash(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return new Uint8Array(digest).toHex().slice(0, 16);
}

/**
 * `body` with each of its `count` embedded binaries replaced by a read of the
 * file that `store` keeps it in (a path relative to the bundle, `./…`), or
 * by that file's URL where the binary was a `data:` URL.
 * Throws when the bundle holds another number of them: a build that embeds a
 * binary more or less than expected is a build to look at.
 */
export async function moveEmbeddedOut(
  body: string,
  count: number,
  store: (bytes: Uint8Array<ArrayBuffer>) => Promise<string>,
): Promise<string> {
  const found = [...body.matchAll(EMBEDDED)];
  if (found.length !== count) {
    throw new Error(`found ${found.length} embedded binaries, expected ${count}`);
  }
  const files: string[] = [];
  for (const [, b64, url] of found) files.push(await store(Uint8Array.fromBase64(b64 ?? url)));
  let i = 0;
  return body.replace(EMBEDDED, (_, b64: string | undefined) => {
    const file = files[i++];
    if (!/^\.\/[A-Za-z0-9._/-]+$/.test(file)) throw new Error(`bad asset path ${file}`);
    const url = `new URL("${file}", import.meta.url)`;
    return b64 === undefined ? `${url}.href` : `Deno.readFileSync(${url})`;
  });
}

/**
 * {@link moveEmbeddedOut} over each file of a split bundle (name → text), in
 * place: `count` binaries in all, each in whichever chunk the bundler put it.
 * Asset paths are relative to the files, which lie side by side.
 */
export async function moveEmbeddedOutOfAll(
  files: Map<string, string>,
  count: number,
  store: (bytes: Uint8Array<ArrayBuffer>) => Promise<string>,
): Promise<void> {
  const found = [...files.values()].reduce((n, t) => n + [...t.matchAll(EMBEDDED)].length, 0);
  if (found !== count) throw new Error(`found ${found} embedded binaries, expected ${count}`);
  for (const [name, text] of files) {
    const here = [...text.matchAll(EMBEDDED)].length;
    if (here > 0) files.set(name, await moveEmbeddedOut(text, here, store));
  }
}
