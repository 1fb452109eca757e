/**
 * The servers a user joined with `wgcage server add NAME URL`, kept under
 * the user's config directory ($XDG_CONFIG_HOME/wgcage/servers/NAME, or
 * ~/.config/…), a directory of 0700 per server:
 *
 *     server.json   the URL and the pinned certificate's SHA-256
 *     cert.pem      that certificate (the only one the API is trusted with)
 *     token         the API token (0600)
 *     private.key   this machine's key for the server, made on first use (0600)
 *     wg.conf       the wg-quick config the registration gave (0600)
 *
 * @module
 */

import { ServeError } from "./error.ts";
import { ensurePrivateDir, writeAtomic } from "./store.ts";
import { serversDir as coveredServersDir } from "../live/state_cover.ts";

const NAME = /^[A-Za-z0-9_.-]{1,32}$/;

export interface RemoteServer {
  readonly name: string;
  readonly dir: string;
  readonly url: string;
  /** SHA-256 of the certificate (hex), absent for an http:// URL. */
  readonly fingerprint?: string;
}

export function checkServerName(name: string): string {
  if (!NAME.test(name) || name === "." || name === "..") {
    throw new ServeError(
      `'${name}' is not a valid server name; use 1-32 letters, digits or _.-, e.g. work`,
    );
  }
  return name;
}

/** Where servers are kept; refuses when there is no home to keep them in. */
export function serversDir(): string {
  const dir = coveredServersDir();
  if (dir === undefined) {
    throw new ServeError("Cannot tell where to keep servers: set HOME (or XDG_CONFIG_HOME)");
  }
  return dir;
}

export function serverDir(name: string): string {
  return `${serversDir()}/${checkServerName(name)}`;
}

export function readServer(name: string): RemoteServer {
  const dir = serverDir(name);
  let meta: { url?: unknown; fingerprint?: unknown };
  try {
    meta = JSON.parse(Deno.readTextFileSync(`${dir}/server.json`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ServeError(
        `No server named '${name}'; add it with 'wgcage server add ${name} URL --token-file FILE'`,
      );
    }
    throw new ServeError(
      `Cannot read ${dir}/server.json: ${(e as Error).message}; ` +
        `make it readable by you, or remove the server ('wgcage server rm ${name}') and add it again`,
    );
  }
  if (typeof meta.url !== "string") {
    throw new ServeError(`${dir}/server.json is damaged; add the server again`);
  }
  return {
    name,
    dir,
    url: meta.url,
    ...(typeof meta.fingerprint === "string" ? { fingerprint: meta.fingerprint } : {}),
  };
}

export function writeServer(
  s: RemoteServer,
  files: { token: Uint8Array; certPem?: string },
): void {
  ensurePrivateDir(serversDir());
  ensurePrivateDir(s.dir);
  writeAtomic(`${s.dir}/token`, new TextDecoder().decode(files.token), 0o600);
  if (files.certPem !== undefined) writeAtomic(`${s.dir}/cert.pem`, files.certPem, 0o600);
  writeAtomic(
    `${s.dir}/server.json`,
    JSON.stringify({ url: s.url, ...(s.fingerprint ? { fingerprint: s.fingerprint } : {}) }) +
      "\n",
    0o600,
  );
}

export function listServers(): string[] {
  try {
    return [...Deno.readDirSync(serversDir())]
      .filter((e) => e.isDirectory && NAME.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}
