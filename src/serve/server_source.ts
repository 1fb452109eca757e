/**
 * `--server NAME` as a run's or `up`'s config: the first use makes this
 * machine's key for the server (0600; only its public key leaves), registers
 * it through the API and keeps the config it gets (wg.conf, 0600); each later
 * use asks the server whether it still knows the key and refreshes the
 * config from its answer. A server that forgot the client (its state reset,
 * the client removed) gets it registered again, once; a server out of reach
 * leaves the kept config in use.
 *
 * @module
 */

import { genkey, pubkey } from "../wg/keys.ts";
import { ServeError } from "./error.ts";
import { type Registration, RemoteApi } from "./remote_api.ts";
import { readServer, type RemoteServer } from "./remote_store.ts";
import { writeAtomic } from "./store.ts";

/** The wg-quick text of a registration; stock wg-quick reads it. */
export function wgQuickOf(privateKey: string, r: Registration): string {
  return [
    "[Interface]",
    `PrivateKey = ${privateKey}`,
    `Address = ${[r.address, ...(typeof r.address6 === "string" ? [r.address6] : [])].join(", ")}`,
    ...(r.dns.length > 0 ? [`DNS = ${r.dns.join(", ")}`] : []),
    "",
    "[Peer]",
    `PublicKey = ${r.server_public_key}`,
    `Endpoint = ${r.endpoint}`,
    `AllowedIPs = ${r.allowed_ips.join(", ")}`,
    "PersistentKeepalive = 25",
    "",
  ].join("\n");
}

function isRegistration(v: unknown): v is Registration {
  const r = v as Registration;
  return typeof r === "object" && r !== null && typeof r.address === "string" &&
    typeof r.server_public_key === "string" && typeof r.endpoint === "string" &&
    Array.isArray(r.dns) && Array.isArray(r.allowed_ips);
}

function privateKeyOf(s: RemoteServer): string {
  const path = `${s.dir}/private.key`;
  try {
    return Deno.readTextFileSync(path).trim();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const key = genkey();
  writeAtomic(path, `${key}\n`, 0o600);
  return key;
}

/** The path of server NAME's wg-quick config, registered and current. */
export async function serverConfigPath(name: string): Promise<string> {
  const s = readServer(name);
  const conf = `${s.dir}/wg.conf`;
  const privateKey = privateKeyOf(s);
  const publicKey = await pubkey(privateKey);
  const keep = (r: Registration) => {
    writeAtomic(conf, wgQuickOf(privateKey, r), 0o600);
    return conf;
  };
  const api = RemoteApi.open(s);
  try {
    const path = `/v1/clients/${encodeURIComponent(publicKey)}`;
    let known = false;
    try {
      Deno.statSync(conf);
      known = true;
    } catch {
      // first use
    }
    if (known) {
      let r;
      try {
        r = await api.request("GET", path);
      } catch {
        return conf; // out of reach: the kept config may still work
      }
      if (r.status === 200 && isRegistration(r.json)) return keep(r.json);
      if (r.status !== 404) {
        throw new ServeError(`The server '${name}' refused: ${RemoteApi.errorOf(r)}`);
      }
    }
    const reg = await api.request("POST", "/v1/clients", { public_key: publicKey });
    if (reg.status === 201 && isRegistration(reg.json)) return keep(reg.json);
    if (reg.status === 409) {
      // Registered by an earlier use that did not get to keep its config.
      const again = await api.request("GET", path);
      if (again.status === 200 && isRegistration(again.json)) return keep(again.json);
    }
    throw new ServeError(
      `Cannot register with the server '${name}': ${RemoteApi.errorOf(reg)}` +
        (known ? " (it had forgotten this machine, and registering again failed)" : ""),
    );
  } finally {
    api.close();
  }
}
