/**
 * The API's token: read from a file or an environment variable (a flag's
 * value would show in `ps`), and compared in constant time.
 *
 * @module
 */

import { readFileAtMost } from "../config/read_limited.ts";
import { takeEnvironmentVariable } from "../launcher/environ.ts";
import { ServeError } from "./error.ts";

/** Tokens shorter than this are refused: a guessable token protects nothing. */
export const MIN_TOKEN_LENGTH = 16;

function checked(bytes: Uint8Array, where: string): Uint8Array {
  let end = bytes.length;
  while (
    end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d || bytes[end - 1] === 0x20)
  ) {
    end--;
  }
  const token = bytes.slice(0, end);
  bytes.fill(0);
  if (token.length < MIN_TOKEN_LENGTH) {
    token.fill(0);
    throw new ServeError(
      `The token in ${where} is shorter than ${MIN_TOKEN_LENGTH} characters; make one with ` +
        "'head -c 32 /dev/urandom | base64'",
    );
  }
  if (token.some((b) => b < 0x21 || b > 0x7e)) {
    token.fill(0);
    throw new ServeError(
      `The token in ${where} has spaces or characters that cannot go in an HTTP header; ` +
        "use printable ASCII (e.g. base64)",
    );
  }
  return token;
}

export async function readToken(o: { tokenFile?: string; tokenEnv?: string }): Promise<Uint8Array> {
  if (o.tokenFile !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = await readFileAtMost(o.tokenFile, 4096);
    } catch (e) {
      throw new ServeError(`Cannot read --token-file '${o.tokenFile}': ${(e as Error).message}`);
    }
    const mode = Deno.statSync(o.tokenFile).mode ?? 0;
    if ((mode & 0o077) !== 0) {
      console.error(
        `wgcage: Warning: --token-file '${o.tokenFile}' can be read by others (mode ${
          (mode & 0o777).toString(8)
        }); run 'chmod 600 ${o.tokenFile}'`,
      );
    }
    return checked(bytes, `'${o.tokenFile}'`);
  }
  const name = o.tokenEnv!;
  const value = await takeEnvironmentVariable(name);
  if (value === undefined) {
    throw new ServeError(`--token-env ${name}: the variable is not set; export it first`);
  }
  return checked(new TextEncoder().encode(value), `$${name}`);
}

/**
 * Whether `given` is the token, in time that depends on neither's content nor
 * length: both are hashed first (equal lengths), then every byte compared.
 */
export async function tokenMatches(token: Uint8Array, given: Uint8Array): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", token as Uint8Array<ArrayBuffer>),
    crypto.subtle.digest("SHA-256", given as Uint8Array<ArrayBuffer>),
  ]);
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}
