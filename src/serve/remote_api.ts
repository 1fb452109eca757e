/**
 * A client of a server's provisioning API (api.ts), over HTTPS trusting only
 * the certificate pinned at `server add` (or plain HTTP when the URL says so).
 *
 * Getting the certificate the first time: Deno's TLS API neither shows the
 * peer's certificate nor skips verification for one connection, so
 * `openssl s_client` fetches it once; its SHA-256 is then checked against
 * the fingerprint given (`--fingerprint`, as `serve` printed it), or, with
 * none given, trusted on first use with a warning. From then on only that
 * certificate is trusted (Deno.createHttpClient's caCerts), as ssh's
 * known_hosts pins a host key.
 *
 * @module
 */

import { ServeError } from "./error.ts";
import type { RemoteServer } from "./remote_store.ts";
import { fingerprintOf } from "./certificate.ts";
import { findOnPath, SBIN_DIRS } from "../cage/find_on_path.ts";

const TIMEOUT_MS = 15_000;

/** The config a registration returns (api.ts's configOf). */
export interface Registration {
  readonly public_key: string;
  readonly address: string;
  /** With an IPv6 subnet on the server. */
  readonly address6?: string;
  readonly server_public_key: string;
  readonly endpoint: string;
  readonly dns: string[];
  readonly allowed_ips: string[];
}

export function normalizeFingerprint(text: string): string | undefined {
  const hex = text.replace(/^sha256[=:]/i, "").replaceAll(":", "").toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

/** The server's certificate, as `openssl s_client` receives it. */
export async function fetchCertificate(url: URL): Promise<string> {
  const openssl = findOnPath("openssl", SBIN_DIRS);
  if (openssl === undefined) {
    throw new ServeError(
      "Cannot fetch the server's certificate without openssl; install it (apt-get install openssl)",
    );
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = url.port || "443";
  const out = await new Deno.Command(openssl, {
    args: [
      "s_client",
      "-connect",
      host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`,
      ...(/^[0-9.:]+$/.test(host) ? [] : ["-servername", host]),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const m = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(text);
  if (m === null) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n")[0] ?? "";
    throw new ServeError(
      `Cannot reach ${url.origin} over TLS: ${err || "no certificate"}; ` +
        "check the URL and that the server runs with --api",
    );
  }
  return `${m[0]}\n`;
}

/** Checks `certPem` against `pinned` (or warns, trusting it on first use); returns its fingerprint. */
export async function pinCertificate(
  certPem: string,
  pinned: string | undefined,
  warn: (line: string) => void,
): Promise<string> {
  const fp = await fingerprintOf(certPem);
  if (pinned === undefined) {
    warn(
      `wgcage: Warning: trusting the server's certificate on first use (sha256=${fp}); ` +
        "compare it with the line 'wgcage serve' printed, or give --fingerprint",
    );
  } else if (pinned !== fp) {
    throw new ServeError(
      `The server's certificate is not the one pinned (it has sha256=${fp}); someone may be ` +
        "in between, or the server made a new certificate: check it with the server's operator",
    );
  }
  return fp;
}

export class RemoteApi {
  readonly #base: string;
  readonly #token: string;
  readonly #client: Deno.HttpClient | undefined;

  constructor(base: string, token: string, certPem: string | undefined) {
    this.#base = base.replace(/\/+$/, "");
    this.#token = token;
    this.#client = certPem !== undefined
      ? Deno.createHttpClient({ caCerts: [certPem] })
      : undefined;
  }

  static open(s: RemoteServer): RemoteApi {
    const token = Deno.readTextFileSync(`${s.dir}/token`).trim();
    const cert = s.url.startsWith("https:")
      ? Deno.readTextFileSync(`${s.dir}/cert.pem`)
      : undefined;
    return new RemoteApi(s.url, token, cert);
  }

  close(): void {
    this.#client?.close();
  }

  /** One request; resolves with the status and the parsed JSON (or undefined). */
  async request(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    let res: Response;
    try {
      res = await fetch(`${this.#base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.#token}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(TIMEOUT_MS),
        ...(this.#client ? { client: this.#client } : {}),
      });
    } catch (e) {
      throw new ServeError(
        `Cannot reach the server at ${this.#base}: ${(e as Error).message}; ` +
          "check that it runs and that this host can reach it",
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json };
  }

  /** The server's one-line error for a failed request. */
  static errorOf(r: { status: number; json: unknown }): string {
    const e = (r.json as { error?: unknown } | undefined)?.error;
    return typeof e === "string" ? `${e} (${r.status})` : `status ${r.status}`;
  }
}
