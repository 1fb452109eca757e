/**
 * The provisioning API (`--api ADDR:PORT`), JSON over HTTPS:
 *
 *     POST   /v1/clients          {"public_key": KEY, "name"?: NAME}  → 201 the client's config
 *     GET    /v1/clients          → 200 {"clients": [...]}
 *     DELETE /v1/clients/KEY      (KEY url-encoded base64) → 204
 *     POST   /v1/forwards         {"port": P, "public_key": KEY, "client_port": P,
 *                                  "protocol"?: "tcp"|"udp", "address"?: IPv4} → 201 {"id": N, …}
 *     GET    /v1/forwards         → 200 {"forwards": [...]}
 *     DELETE /v1/forwards/N       → 204: the port closes, its connections are reset
 *
 * Every request carries `Authorization: Bearer TOKEN`. A client registers its
 * public key only: the server never makes or sees a client's private key.
 * Each failure is one JSON error line `{"error": "..."}` with its status; the
 * server keeps serving. Requests are rate-limited per source address (a
 * token bucket), bodies are capped, and nothing is saved half: the client
 * list is written atomically before the device changes.
 *
 * @module
 */

import type { LiveDevice } from "../live/live_device.ts";
import { CAPS } from "../live/caps.ts";
import { hostDns } from "./host_dns.ts";
import type { ServeOptions } from "./options.ts";
import type { ClientStore } from "./store.ts";
import type { Subnet, Subnet6 } from "./subnet.ts";
import { addClientPeer, removeClientPeer } from "./peers.ts";
import { tokenMatches } from "./token.ts";
import { fingerprintOf, keptCertificate } from "./certificate.ts";
import { ServeError } from "./error.ts";
import type { Forwarder } from "../forward/forwarder.ts";
import { LauncherError } from "../launcher/error.ts";
import { parseIp } from "../config/ip.ts";
import {
  type ForwardRecord,
  type ForwardStore,
  liveRule,
  MAX_API_FORWARDS,
} from "./forward_store.ts";
import { relaysOf, type ServeForward } from "./forward_spec.ts";

/** Bodies over this are refused with 413 before they are read whole. */
export const MAX_BODY = 16 * 1024;
/** Per source address: a burst of this many requests, refilled at RATE a second. */
const BURST = 40;
const RATE = 20;
/** Source addresses the limiter remembers at most (the oldest are forgotten). */
const MAX_SOURCES = 4096;
const KEY_RE = /^[A-Za-z0-9+/]{43}=$/;
const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export interface ApiContext {
  readonly listen: { readonly hostname: string; readonly port: number };
  readonly token: Uint8Array;
  readonly options: ServeOptions;
  readonly stateDir: string;
  readonly store: ClientStore;
  readonly subnet: Subnet;
  /** The IPv6 subnet beside it, if any. */
  readonly subnet6?: Subnet6;
  /** A client's IPv6 address (its IPv4 host number in subnet6), or undefined. */
  readonly v6Of: (c: { address: string }) => string | undefined;
  readonly device: LiveDevice;
  readonly say: (line: string) => void;
  /** A client's address joined (true) or left the server; the cage's rules follow. */
  readonly onPeer: (address: string, present: boolean) => Promise<void>;
  /** The forwards made through the API and the relay that carries them. */
  readonly forwards: { readonly store: ForwardStore; readonly forwarder: Forwarder };
}

class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function json(status: number, body: unknown): Response {
  return new Response(status === 204 ? null : JSON.stringify(body) + "\n", {
    status,
    headers: status === 204 ? {} : { "content-type": "application/json" },
  });
}

/** A token bucket per source address. */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #burst: number;
  readonly #rate: number;
  constructor(burst = BURST, rate = RATE) {
    this.#burst = burst;
    this.#rate = rate;
  }
  allow(source: string, now = performance.now()): boolean {
    let b = this.#buckets.get(source);
    if (b === undefined) {
      if (this.#buckets.size >= MAX_SOURCES) {
        this.#buckets.delete(this.#buckets.keys().next().value!);
      }
      b = { tokens: this.#burst, at: now };
      this.#buckets.set(source, b);
    }
    b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) / 1000) * this.#rate);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/**
 * Up to this much of a body that is too large is read and dropped before the
 * 413, so that a client still sending gets the answer instead of a reset
 * stream; beyond it the connection is cut.
 */
const MAX_DRAINED = 4 * 1024 * 1024;

async function readBody(req: Request): Promise<unknown> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  const tooLarge = () => new ApiError(413, `the body is over ${MAX_BODY} bytes`);
  if (declared > MAX_DRAINED) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (req.body !== null) {
    for await (const chunk of req.body) {
      size += chunk.length;
      if (size > MAX_DRAINED) throw tooLarge();
      if (size <= MAX_BODY) chunks.push(chunk);
    }
  }
  if (size > MAX_BODY) throw tooLarge();
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new ApiError(400, "the body is not JSON");
  }
}

function checkKey(text: unknown): string {
  if (typeof text !== "string" || !KEY_RE.test(text)) {
    throw new ApiError(400, "public_key must be a WireGuard public key (44 characters of base64)");
  }
  return text;
}

export interface Api {
  readonly url: string;
  readonly fingerprint?: string;
  close(): Promise<void>;
}

export async function startApi(ctx: ApiContext): Promise<Api> {
  const o = ctx.options;
  const serverKey = new Uint8Array(ctx.device.publicKey()).toBase64();
  const endpoint = o.endpoint ?? `${o.api?.hostname ?? "0.0.0.0"}:${o.listenPort}`;
  const six = ctx.subnet6;
  const allowedIps = o.noEgress
    ? [ctx.subnet.network, ...(six ? [six.network] : [])]
    : ["0.0.0.0/0", ...(six ? ["::/0"] : [])];
  const dns = hostDns(o.noEgress);
  const limiter = new RateLimiter();

  const configOf = (c: { publicKey: string; address: string; name?: string }) => ({
    public_key: c.publicKey,
    ...(c.name !== undefined ? { name: c.name } : {}),
    address: `${c.address}/32`,
    ...(ctx.v6Of(c) !== undefined ? { address6: `${ctx.v6Of(c)}/128` } : {}),
    server_public_key: serverKey,
    endpoint,
    dns,
    allowed_ips: allowedIps,
    subnet: ctx.subnet.network,
    ...(six ? { subnet6: six.network } : {}),
  });

  const register = async (body: unknown): Promise<Response> => {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new ApiError(400, "the body must be a JSON object with public_key");
    }
    const b = body as Record<string, unknown>;
    const key = checkKey(b.public_key);
    if (b.name !== undefined && (typeof b.name !== "string" || !NAME_RE.test(b.name))) {
      throw new ApiError(400, "name must be 1 to 64 of A-Z a-z 0-9 _ . -");
    }
    if (key === serverKey) throw new ApiError(400, "public_key is the server's own key");
    if (ctx.store.get(key) !== undefined) {
      throw new ApiError(409, "this public key is registered already; DELETE it first");
    }
    if (ctx.store.size >= CAPS.peers) {
      // The live device holds at most CAPS.peers peers (src/live/caps.ts).
      throw new ApiError(507, `the server holds ${CAPS.peers} clients already; DELETE one first`);
    }
    const address = ctx.subnet.allocate(ctx.store.addresses());
    if (address === undefined) {
      throw new ApiError(
        507,
        `the subnet ${ctx.subnet.network} is full (${ctx.subnet.capacity} clients)`,
      );
    }
    const record = {
      publicKey: key,
      address,
      ...(typeof b.name === "string" ? { name: b.name } : {}),
      created: Date.now(),
    };
    try {
      ctx.store.add(record);
    } catch (e) {
      throw new ApiError(500, `cannot save the client list: ${(e as Error).message}`);
    }
    try {
      await addClientPeer(ctx.device, record, ctx.v6Of(record));
    } catch (e) {
      ctx.store.remove(key);
      throw new ApiError(500, `cannot add the peer: ${(e as Error).message}`);
    }
    ctx.options.verbose && ctx.say(`wgcage: registered ${address} (${key.slice(0, 8)}…)`);
    for (const a of [address, ctx.v6Of(record)]) {
      if (a !== undefined) await ctx.onPeer(a, true).catch((e) => ctx.say((e as Error).message));
    }
    return json(201, configOf(record));
  };

  const forwardOut = (f: ForwardRecord) => ({
    id: f.id,
    protocol: f.protocol,
    address: f.hostAddress,
    port: f.hostPort,
    public_key: f.publicKey,
    client_port: f.clientPort,
  });
  const portOf = (v: unknown, what: string): number => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 65535) {
      throw new ApiError(400, `${what} must be a port number (1-65535)`);
    }
    return v;
  };

  const addForward = (body: unknown): Response => {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new ApiError(400, "the body must be a JSON object with port, public_key, client_port");
    }
    const b = body as Record<string, unknown>;
    const protocol = b.protocol ?? "tcp";
    if (protocol !== "tcp" && protocol !== "udp") {
      throw new ApiError(400, 'protocol must be "tcp" or "udp"');
    }
    const hostAddress = b.address ?? "0.0.0.0";
    let v4 = false;
    try {
      v4 = typeof hostAddress === "string" && parseIp(hostAddress).family === 4;
    } catch {
      // not an address
    }
    if (!v4) throw new ApiError(400, "address must be an IPv4 address of this host to listen on");
    const f: ServeForward = {
      protocol,
      hostAddress: hostAddress as string,
      hostPort: portOf(b.port, "port"),
      publicKey: checkKey(b.public_key),
      clientPort: portOf(b.client_port, "client_port"),
    };
    if (ctx.store.get(f.publicKey) === undefined) {
      throw new ApiError(404, "no client has this public key; register it first");
    }
    const { store, forwarder } = ctx.forwards;
    if (store.size >= MAX_API_FORWARDS) {
      throw new ApiError(507, `${MAX_API_FORWARDS} forwards are open already; DELETE one first`);
    }
    const rule = liveRule(store.nextId);
    try {
      forwarder.addLive(relaysOf([f], ctx.store)[0], rule);
    } catch (e) {
      if (!(e instanceof LauncherError)) throw e;
      throw new ApiError(409, e.message.replace(/^wgcage: /, ""));
    }
    let record: ForwardRecord;
    try {
      record = store.add(f);
    } catch (e) {
      forwarder.removeLive(rule);
      throw new ApiError(500, `cannot save the forward list: ${(e as Error).message}`);
    }
    ctx.options.verbose &&
      ctx.say(`wgcage: forward ${record.id}: ${f.hostAddress}:${f.hostPort}/${f.protocol}`);
    return json(201, forwardOut(record));
  };

  const forwardsApi = async (req: Request, path: string): Promise<Response> => {
    if (path === "/v1/forwards") {
      if (req.method === "GET") {
        return json(200, { forwards: ctx.forwards.store.list().map(forwardOut) });
      }
      if (req.method === "POST") return addForward(await readBody(req));
      throw new ApiError(405, `${req.method} is not allowed on ${path}`);
    }
    const idText = path.slice("/v1/forwards/".length);
    if (!/^[0-9]{1,9}$/.test(idText)) {
      throw new ApiError(400, "the path must end with a forward's id");
    }
    const id = Number(idText);
    if (req.method === "GET") {
      const f = ctx.forwards.store.get(id);
      if (f === undefined) throw new ApiError(404, "no forward has this id");
      return json(200, forwardOut(f));
    }
    if (req.method !== "DELETE") throw new ApiError(405, `${req.method} is not allowed here`);
    if (ctx.forwards.store.get(id) === undefined) throw new ApiError(404, "no forward has this id");
    try {
      ctx.forwards.store.remove(id);
    } catch (e) {
      throw new ApiError(500, `cannot save the forward list: ${(e as Error).message}`);
    }
    ctx.forwards.forwarder.removeLive(liveRule(id));
    return json(204, null);
  };

  const handle = async (req: Request, source: string): Promise<Response> => {
    if (!limiter.allow(source)) throw new ApiError(429, "too many requests; slow down");
    const auth = req.headers.get("authorization") ?? "";
    const given = auth.startsWith("Bearer ") ? auth.slice(7) : "";
    if (!(await tokenMatches(ctx.token, new TextEncoder().encode(given)))) {
      throw new ApiError(401, "wrong or missing token (Authorization: Bearer TOKEN)");
    }
    const url = new URL(req.url);
    const path = url.pathname;
    if (path === "/v1/forwards" || path.startsWith("/v1/forwards/")) {
      return await forwardsApi(req, path);
    }
    if (path === "/v1/clients") {
      if (req.method === "GET") {
        return json(200, { clients: ctx.store.list().map(configOf) });
      }
      if (req.method === "POST") return await register(await readBody(req));
      throw new ApiError(405, `${req.method} is not allowed on ${path}`);
    }
    if (path.startsWith("/v1/clients/")) {
      let key: string;
      try {
        key = checkKey(decodeURIComponent(path.slice("/v1/clients/".length)));
      } catch {
        throw new ApiError(400, "the path must end with the client's url-encoded public key");
      }
      if (req.method === "GET") {
        const c = ctx.store.get(key);
        if (c === undefined) throw new ApiError(404, "no client has this public key");
        return json(200, configOf(c));
      }
      if (req.method !== "DELETE") throw new ApiError(405, `${req.method} is not allowed here`);
      const gone = ctx.store.get(key);
      if (gone === undefined) {
        throw new ApiError(404, "no client has this public key");
      }
      try {
        ctx.store.remove(key);
      } catch (e) {
        throw new ApiError(500, `cannot save the client list: ${(e as Error).message}`);
      }
      await removeClientPeer(ctx.device, key);
      for (const a of [gone.address, ctx.v6Of(gone)]) {
        if (a !== undefined) await ctx.onPeer(a, false).catch((e) => ctx.say((e as Error).message));
      }
      return json(204, null);
    }
    throw new ApiError(404, `no such API path: ${path.slice(0, 80)}`);
  };

  let tls: { cert: string; key: string } | undefined;
  let fingerprint: string | undefined;
  if (!o.insecureHttp) {
    if (o.tlsCert !== undefined && o.tlsKey !== undefined) {
      try {
        tls = { cert: Deno.readTextFileSync(o.tlsCert), key: Deno.readTextFileSync(o.tlsKey) };
      } catch (e) {
        throw new ServeError(
          `Cannot read --tls-cert/--tls-key: ${(e as Error).message}; ` +
            "give readable PEM files, or leave both out for a self-signed certificate",
        );
      }
      fingerprint = await fingerprintOf(tls.cert);
    } else {
      const names = ["localhost"];
      const endpointHost = o.endpoint?.replace(/:[0-9]+$/, "").replace(/^\[|\]$/g, "");
      if (endpointHost) names.unshift(endpointHost);
      if (o.api && o.api.hostname !== "0.0.0.0" && o.api.hostname !== "::") {
        names.push(o.api.hostname);
      }
      const made = await keptCertificate(ctx.stateDir, [...new Set(names)]);
      tls = { cert: made.certPem, key: made.keyPem };
      fingerprint = made.fingerprint;
    }
  } else {
    ctx.say(
      "wgcage: Warning: --insecure-http: the API token and client configs cross the network " +
        "in clear text; anyone on the path can read the token and register clients",
    );
  }
  const abort = new AbortController();
  let listening: () => void = () => {};
  const ready = new Promise<void>((r) => listening = r);
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: ctx.listen.hostname,
      port: ctx.listen.port,
      signal: abort.signal,
      ...(tls ?? {}),
      onListen: () => listening(),
      onError: () => json(500, { error: "internal error" }),
    }, async (req, info) => {
      const source = info.remoteAddr.hostname;
      try {
        return await handle(req, source);
      } catch (e) {
        if (e instanceof ApiError) return json(e.status, { error: e.message });
        return json(500, { error: "internal error" });
      }
    });
  } catch (e) {
    throw new ServeError(
      `Cannot listen on --api ${ctx.listen.hostname}:${ctx.listen.port}: ${
        (e as Error).message
      }; ` +
        "choose a free port and an address of this host",
    );
  }
  await ready;
  const host = ctx.listen.hostname.includes(":") ? `[${ctx.listen.hostname}]` : ctx.listen.hostname;
  const url = `${tls ? "https" : "http"}://${host}:${ctx.listen.port}`;
  const line = fingerprint !== undefined
    ? `wgcage: api ${url} sha256=${fingerprint}`
    : `wgcage: api ${url}`;
  await Deno.stdout.write(new TextEncoder().encode(line + "\n"));
  return {
    url,
    fingerprint,
    async close() {
      abort.abort();
      await server.finished.catch(() => {});
    },
  };
}
