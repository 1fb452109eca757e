/**
 * `wgcage genkey`, `pubkey` and `genpsk`: the same formats as `wg`, so either
 * tool's keys work with the other.
 *
 * @module
 */

import { genkey, genpsk, pubkey } from "../wg/keys.ts";
import { TunnelError } from "../tunnel_error.ts";

async function readStdin(): Promise<string> {
  return await new Response(Deno.stdin.readable).text();
}

/**
 * Warns, as `wg genkey` does, when the key goes to a regular file that every
 * user may read: the key is written all the same (the file exists already,
 * made by the shell with the caller's umask), but the caller should know.
 */
function warnIfWorldReadable(command: string): void {
  let info: Deno.FileInfo;
  try {
    // fd 1 as the kernel's link to it: the file itself, not the link.
    info = Deno.statSync("/proc/self/fd/1");
  } catch {
    return;
  }
  if (!info.isFile || info.mode === null || (info.mode & 0o007) === 0) return;
  const octal = (info.mode & 0o777).toString(8).padStart(4, "0");
  console.error(
    `wgcage: Warning: the key goes to a file every user may read (mode ${octal}); ` +
      `make keys with umask 077: (umask 077; wgcage ${command} > file)`,
  );
}

export async function genkeyCommand(): Promise<number> {
  warnIfWorldReadable("genkey");
  console.log(await genkey());
  return 0;
}

export async function genpskCommand(): Promise<number> {
  warnIfWorldReadable("genpsk");
  console.log(await genpsk());
  return 0;
}

export async function pubkeyCommand(): Promise<number> {
  const text = (await readStdin()).trim();
  let pub: string;
  try {
    pub = await pubkey(text);
  } catch {
    throw new TunnelError(
      "The private key on standard input is not valid (expected 44 characters of base64, " +
        "as printed by 'wgcage genkey'); try: wgcage genkey | wgcage pubkey",
    );
  }
  console.log(pub);
  return 0;
}
