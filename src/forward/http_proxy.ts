/**
 * `--http-proxy`: an HTTP proxy whose every connection is made inside the
 * cage. `CONNECT host:port` opens a tunnel (HTTPS through a proxy); a request
 * in absolute form (`GET http://host/path`) is sent on to its origin in
 * origin form with `Connection: close`, so a kept-alive client connection
 * cannot carry a second request to another origin through the first one's
 * socket. Names are resolved with the cage's DNS.
 *
 * @module
 */

import { type IpAddress, parseIp } from "../config/ip.ts";
import { describeErrno, ETIMEDOUT } from "../launcher/errno.ts";
import { isDnsName } from "./spec.ts";
import type { ProxyContext } from "./socks.ts";
import { STEER_BYTES, type SteeredConnection, type SteerSession } from "./steering.ts";

/** What a request head calls for. */
export type HttpStep =
  | { readonly kind: "more" }
  | { readonly kind: "refuse"; readonly status: number; readonly why: string }
  | {
    readonly kind: "connect";
    readonly host: string;
    readonly port: number;
    readonly consumed: number;
    /** CONNECT: undefined; plain forwarding: the head to send to the origin. */
    readonly head?: Uint8Array;
  };

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "proxy-authenticate",
  "te",
  "trailer",
  "upgrade",
]);

function hostPort(text: string, defaultPort: number): { host: string; port: number } | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:\[\]]+)(?::([0-9]{1,5}))?$/.exec(text);
  if (!m) return undefined;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1].startsWith("[") ? m[1].slice(1, -1) : m[1], port };
}

/**
 * The step for the client's bytes so far.
 *
 * @example
 * ```ts
 * import { parseHttpProxy } from "./http_proxy.ts";
 * const head = new TextEncoder().encode("CONNECT db.test:443 HTTP/1.1\r\n\r\n");
 * parseHttpProxy(head).kind; // "connect"
 * ```
 */
export function parseHttpProxy(b: Uint8Array): HttpStep {
  const text = new TextDecoder("latin1").decode(b);
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) {
    return b.length >= STEER_BYTES
      ? { kind: "refuse", status: 431, why: "a request head over 16 KiB" }
      : { kind: "more" };
  }
  const lines = text.slice(0, end).split("\r\n");
  const m = /^([A-Z]{1,16}) (\S+) HTTP\/1\.([01])$/.exec(lines[0]);
  if (!m) return { kind: "refuse", status: 400, why: "not an HTTP/1 request line" };
  const [, method, target, minor] = m;
  const consumed = end + 4;
  if (method === "CONNECT") {
    const hp = hostPort(target, 0);
    if (!hp || hp.port === 0) {
      return { kind: "refuse", status: 400, why: "CONNECT needs host:port" };
    }
    return { kind: "connect", host: hp.host, port: hp.port, consumed };
  }
  const url = /^http:\/\/([^\/?#]+)([^#]*)$/i.exec(target);
  if (!url) {
    return {
      kind: "refuse",
      status: 400,
      why: target.startsWith("/")
        ? "a request without a proxy's absolute URL"
        : "only http:// URLs are forwarded (https goes through CONNECT)",
    };
  }
  const hp = hostPort(url[1], 80);
  if (!hp) return { kind: "refuse", status: 400, why: "a malformed host in the URL" };
  const path = url[2] === "" ? "/" : url[2];
  const headers = lines.slice(1).filter((l) => {
    const colon = l.indexOf(":");
    return colon > 0 && !HOP_BY_HOP.has(l.slice(0, colon).trim().toLowerCase());
  });
  const head = `${method} ${path} HTTP/1.${minor}\r\n${
    headers.map((h) => `${h}\r\n`).join("")
  }Connection: close\r\n\r\n`;
  // The relay takes at most STEER_BYTES with a command.
  if (head.length > STEER_BYTES) {
    return { kind: "refuse", status: 431, why: "a request head over 16 KiB" };
  }
  const bytes = new Uint8Array(head.length);
  for (let i = 0; i < head.length; i++) bytes[i] = head.charCodeAt(i) & 0xff;
  return { kind: "connect", host: hp.host, port: hp.port, consumed, head: bytes };
}

const REASONS: Readonly<Record<number, string>> = {
  400: "Bad Request",
  431: "Request Header Fields Too Large",
  502: "Bad Gateway",
  504: "Gateway Timeout",
};

/** A short error response; the body says why. */
export function httpError(status: number, why: string): Uint8Array {
  const body = `wgcage: ${why}\n`;
  return new TextEncoder().encode(
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${
        new TextEncoder().encode(body).length
      }\r\nConnection: close\r\n\r\n${body}`,
  );
}

const ESTABLISHED = new TextEncoder().encode("HTTP/1.1 200 Connection established\r\n\r\n");

function literal(host: string): IpAddress | undefined {
  try {
    return parseIp(host);
  } catch {
    return undefined;
  }
}

/** The session of one HTTP proxy client. */
export function httpProxySession(c: SteeredConnection, ctx: ProxyContext): SteerSession {
  let busy = false;
  let target = "";
  const refuse = (status: number, why: string) => {
    ctx.log?.(`--http-proxy: refused a request: ${why}`);
    c.close(httpError(status, why));
  };
  return {
    data(held) {
      if (busy) return;
      const step = parseHttpProxy(held);
      if (step.kind === "more") return;
      if (step.kind === "refuse") return refuse(step.status, step.why);
      busy = true;
      target = `${step.host}:${step.port}`;
      const go = (to: IpAddress) =>
        c.connect(
          to,
          step.port,
          step.head
            ? { consumed: step.consumed, reply: step.head, replyToTarget: true }
            : { consumed: step.consumed, reply: ESTABLISHED },
        );
      const address = literal(step.host);
      if (address) return go(address);
      if (!isDnsName(step.host)) {
        return refuse(400, `'${step.host.slice(0, 64)}' is not a host name`);
      }
      ctx.resolve(step.host.toLowerCase()).then(
        (addresses) => go(addresses[0]),
        (e: Error) => refuse(502, `cannot resolve ${e.message} in the cage`),
      );
    },
    failed(errno) {
      refuse(
        errno === ETIMEDOUT ? 504 : 502,
        `cannot connect to ${target} through the tunnel: ${describeErrno(errno)}`,
      );
    },
  };
}
