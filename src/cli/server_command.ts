/**
 * `wgcage server …`: the servers this user joins by name (serve/remote_*.ts).
 *
 *     wgcage server add NAME URL --token-file FILE [--fingerprint SHA256]
 *     wgcage server ls
 *     wgcage server export NAME      a wg-quick config for stock wg-quick
 *     wgcage server rm NAME          unregister and forget
 *
 * Then `wgcage --server NAME -- CMD` and `wgcage up CAGE --server NAME`.
 *
 * @module
 */

import { ServeError } from "../serve/error.ts";
import {
  checkServerName,
  listServers,
  readServer,
  type RemoteServer,
  serverDir,
  writeServer,
} from "../serve/remote_store.ts";
import {
  fetchCertificate,
  normalizeFingerprint,
  pinCertificate,
  RemoteApi,
} from "../serve/remote_api.ts";
import { serverConfigPath } from "../serve/server_source.ts";
import { readToken } from "../serve/token.ts";
import { pubkey } from "../wg/keys.ts";

const USAGE = "see 'wgcage help server'";

function options(
  args: string[],
  valued: string[],
): { words: string[]; values: Map<string, string> } {
  const words: string[] = [];
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) {
      words.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    if (!valued.includes(name)) {
      const hint = name === "token"
        ? " (the token is read from --token-file: 'ps' shows flags)"
        : "";
      throw new ServeError(`Unknown option --${name} for 'server'${hint}; ${USAGE}`);
    }
    const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined) throw new ServeError(`--${name} needs a value; ${USAGE}`);
    values.set(name, value);
  }
  return { words, values };
}

async function add(args: string[]): Promise<number> {
  const { words, values } = options(args, ["token-file", "fingerprint"]);
  const [name, urlText, ...extra] = words;
  if (name === undefined || urlText === undefined || extra.length > 0) {
    throw new ServeError(`'server add' takes NAME URL --token-file FILE; ${USAGE}`);
  }
  checkServerName(name);
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    throw new ServeError(`'${urlText}' is not a URL; give e.g. https://vpn.example.com:8443`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ServeError(
      `'${urlText}' is not an http(s) URL; give the server's https:// URL, e.g. ` +
        "https://vpn.example.com:8443",
    );
  }
  if (!values.has("token-file")) {
    throw new ServeError("'server add' needs --token-file FILE (the server's API token)");
  }
  const pinnedText = values.get("fingerprint");
  const pinned = pinnedText === undefined ? undefined : normalizeFingerprint(pinnedText);
  if (pinnedText !== undefined && pinned === undefined) {
    throw new ServeError(
      `--fingerprint '${pinnedText}' is not a SHA-256 (64 hex digits, as 'wgcage serve' prints)`,
    );
  }
  const token = await readToken({ tokenFile: values.get("token-file") });
  let certPem: string | undefined;
  let fingerprint: string | undefined;
  if (url.protocol === "https:") {
    certPem = await fetchCertificate(url);
    fingerprint = await pinCertificate(certPem, pinned, (l) => console.error(l));
  } else {
    console.error(
      "wgcage: Warning: an http:// server: the token and the configs cross the network in " +
        "clear text",
    );
  }
  // The token is checked before anything is kept.
  const api = new RemoteApi(url.origin, new TextDecoder().decode(token), certPem);
  try {
    const r = await api.request("GET", "/v1/clients");
    if (r.status !== 200) {
      throw new ServeError(`The server at ${url.origin} refused: ${RemoteApi.errorOf(r)}`);
    }
  } finally {
    api.close();
  }
  const s: RemoteServer = { name, dir: serverDir(name), url: url.origin, fingerprint };
  writeServer(s, { token, certPem });
  token.fill(0);
  console.error(
    `wgcage: server '${name}' added; run 'wgcage --server ${name} -- CMD' (the first run registers)`,
  );
  return 0;
}

function addressOf(dir: string): string {
  try {
    return /^Address = (.+)$/m.exec(Deno.readTextFileSync(`${dir}/wg.conf`))?.[1] ?? "-";
  } catch {
    return "-";
  }
}

export async function serverCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "add":
      return await add(rest);
    case "ls": {
      if (rest.length > 0) throw new ServeError(`'server ls' takes no arguments; ${USAGE}`);
      for (const name of listServers()) {
        const s = readServer(name);
        console.log(`${name}\t${s.url}\t${addressOf(s.dir)}`);
      }
      return 0;
    }
    case "export": {
      if (rest.length !== 1) throw new ServeError(`'server export' takes NAME; ${USAGE}`);
      const path = await serverConfigPath(rest[0]);
      await Deno.stdout.write(Deno.readFileSync(path));
      return 0;
    }
    case "rm": {
      if (rest.length !== 1) throw new ServeError(`'server rm' takes NAME; ${USAGE}`);
      const s = readServer(rest[0]);
      let key: string | undefined;
      try {
        key = Deno.readTextFileSync(`${s.dir}/private.key`).trim();
      } catch {
        // never registered
      }
      if (key !== undefined) {
        const api = RemoteApi.open(s);
        try {
          const r = await api.request(
            "DELETE",
            `/v1/clients/${encodeURIComponent(await pubkey(key))}`,
          );
          if (r.status !== 204 && r.status !== 404) {
            throw new ServeError(
              `The server '${s.name}' did not unregister this machine: ${RemoteApi.errorOf(r)}; ` +
                `nothing was forgotten (remove ${s.dir} to forget it anyway)`,
            );
          }
        } finally {
          api.close();
        }
      }
      Deno.removeSync(s.dir, { recursive: true });
      console.error(`wgcage: server '${s.name}' unregistered and forgotten`);
      return 0;
    }
    default:
      throw new ServeError(
        `'server' needs add, ls, export or rm${sub ? `, not '${sub}'` : ""}; ${USAGE}`,
      );
  }
}
