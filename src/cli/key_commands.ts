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

export async function genkeyCommand(): Promise<number> {
  console.log(await genkey());
  return 0;
}

export async function genpskCommand(): Promise<number> {
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
