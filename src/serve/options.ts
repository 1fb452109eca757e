/**
 * `wgcage serve`'s command line:
 *
 *     wgcage serve --private-key-file FILE [--endpoint HOST:PORT]
 *       [--subnet CIDR [--subnet V6CIDR]] [--listen-port N] [--name NAME] [--no-egress]
 *       [--api ADDR:PORT (--token-file F | --token-env VAR)
 *        [--tls-cert F --tls-key F | --insecure-http]] [--state-dir DIR]
 *       [--forward [ADDR:]PORT:CLIENT_PUBLIC_KEY:PORT[/udp]]... [-v]
 *
 * Parsed here by hand, as the run options are (cli/args.ts), into a plain
 * object; nothing is read from files yet.
 *
 * @module
 */

import { parseCidr } from "../config/cidr.ts";
import type { Cidr } from "../config/types.ts";
import { ServeError } from "./error.ts";
import { parseServeForward, type ServeForward } from "./forward_spec.ts";

export interface ServeOptions {
  readonly privateKeyFile: string;
  /** `--endpoint HOST:PORT`: what clients are told to connect to. */
  readonly endpoint?: string;
  readonly subnet: Cidr;
  /** A second `--subnet`, IPv6: each client also gets the address of its host number there. */
  readonly subnet6?: Cidr;
  readonly listenPort: number;
  /** The live cage's name (`wgcage show NAME`, `wgcage wg NAME show`). */
  readonly name: string;
  readonly noEgress: boolean;
  readonly api?: { readonly hostname: string; readonly port: number };
  readonly tokenFile?: string;
  readonly tokenEnv?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly insecureHttp: boolean;
  readonly stateDir?: string;
  readonly verbose: boolean;
  /** `--forward`, repeatable: host ports relayed to clients. */
  readonly forwards: readonly ServeForward[];
}

export const DEFAULT_SUBNET = "10.200.0.0/24";
export const DEFAULT_LISTEN_PORT = 51820;
export const DEFAULT_NAME = "serve";

const VALUED = new Set([
  "private-key-file",
  "endpoint",
  "subnet",
  "listen-port",
  "name",
  "api",
  "token-file",
  "token-env",
  "tls-cert",
  "tls-key",
  "state-dir",
  "forward",
]);
const FLAGS = new Set(["no-egress", "insecure-http", "verbose"]);

function port(flag: string, text: string): number {
  const n = Number(text);
  if (!/^[0-9]{1,5}$/.test(text) || n < 1 || n > 65535) {
    throw new ServeError(`--${flag} '${text}' is not a port; give a number from 1 to 65535`);
  }
  return n;
}

/** `ADDR:PORT` or `[V6]:PORT`. */
export function parseListenAddress(flag: string, text: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):([0-9]+)$/.exec(text);
  if (m === null) {
    throw new ServeError(`--${flag} '${text}' is not ADDR:PORT; e.g. --${flag} 0.0.0.0:8443`);
  }
  return { hostname: m[1] ?? m[2], port: port(flag, m[3]) };
}

export function parseServeArgs(args: readonly string[]): ServeOptions {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const forwards: ServeForward[] = [];
  const subnets: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const token = args[i];
    if (token === "-v") {
      flags.add("verbose");
      continue;
    }
    if (!token.startsWith("--")) {
      throw new ServeError(`Unexpected '${token}' after 'serve'; see 'wgcage help serve'`);
    }
    const eq = token.indexOf("=");
    const name = eq < 0 ? token.slice(2) : token.slice(2, eq);
    if (FLAGS.has(name) && eq < 0) {
      flags.add(name);
      continue;
    }
    if (!VALUED.has(name)) {
      const hint = name === "token"
        ? " (a token is read from --token-file or --token-env: " +
          "a flag's value shows in 'ps')"
        : "";
      throw new ServeError(`Unknown option --${name} for 'serve'${hint}; see 'wgcage help serve'`);
    }
    let value: string;
    if (eq >= 0) value = token.slice(eq + 1);
    else if (i + 1 < args.length) value = args[++i];
    else throw new ServeError(`--${name} needs a value; see 'wgcage help serve'`);
    if (name === "forward") {
      forwards.push(parseServeForward(value));
      continue;
    }
    if (name === "subnet") {
      subnets.push(value);
      continue;
    }
    if (values.has(name)) throw new ServeError(`--${name} was given twice; give it once`);
    values.set(name, value);
  }
  const privateKeyFile = values.get("private-key-file");
  if (privateKeyFile === undefined) {
    throw new ServeError(
      "'serve' needs the server's key: --private-key-file FILE (make one with 'wgcage genkey > FILE')",
    );
  }
  const parsed = subnets.map((text) => {
    try {
      return { text, cidr: parseCidr(text) };
    } catch (e) {
      throw new ServeError(`--subnet '${text}' is not a prefix: ${(e as Error).message}`);
    }
  });
  const v4s = parsed.filter((p) => p.cidr.family === 4);
  const v6s = parsed.filter((p) => p.cidr.family === 6);
  if (v4s.length > 1 || v6s.length > 1) {
    throw new ServeError("--subnet is given at most twice: one IPv4 prefix and one IPv6 prefix");
  }
  const subnetText = v4s[0]?.text ?? DEFAULT_SUBNET;
  const subnet = v4s[0]?.cidr ?? parseCidr(DEFAULT_SUBNET);
  if (subnet.prefix > 30 || subnet.prefix < 8) {
    throw new ServeError(
      `--subnet '${subnetText}' cannot be served: give an IPv4 prefix from /8 to /30, ` +
        "e.g. 10.200.0.0/24",
    );
  }
  const subnet6 = v6s[0]?.cidr;
  // A client's IPv6 address is its IPv4 host number in the IPv6 prefix:
  // that needs at least as many host bits.
  if (subnet6 !== undefined && (128 - subnet6.prefix < 32 - subnet.prefix || subnet6.prefix < 48)) {
    throw new ServeError(
      `--subnet '${v6s[0].text}' cannot be served beside ${subnetText}: give an IPv6 prefix ` +
        `from /48 to /${96 + subnet.prefix}, e.g. fd00:200::/64 (a client's IPv6 address has ` +
        "its IPv4 host number)",
    );
  }
  const api = values.has("api") ? parseListenAddress("api", values.get("api")!) : undefined;
  const tokenFile = values.get("token-file");
  const tokenEnv = values.get("token-env");
  const tlsCert = values.get("tls-cert");
  const tlsKey = values.get("tls-key");
  const insecureHttp = flags.has("insecure-http");
  if (tokenFile !== undefined && tokenEnv !== undefined) {
    throw new ServeError("Give --token-file or --token-env, not both");
  }
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new ServeError("--tls-cert and --tls-key go together; give both or neither");
  }
  if (insecureHttp && tlsCert !== undefined) {
    throw new ServeError("--insecure-http and --tls-cert contradict each other; give one");
  }
  if (api !== undefined && tokenFile === undefined && tokenEnv === undefined) {
    throw new ServeError(
      "--api needs a token: --token-file FILE or --token-env VAR (make one with " +
        "'head -c 32 /dev/urandom | base64 > FILE')",
    );
  }
  if (api === undefined) {
    for (const n of ["token-file", "token-env", "tls-cert", "tls-key"]) {
      if (values.has(n)) throw new ServeError(`--${n} is for the API; give --api ADDR:PORT too`);
    }
    if (insecureHttp) throw new ServeError("--insecure-http is for the API; give --api too");
  }
  return {
    privateKeyFile,
    endpoint: values.get("endpoint"),
    subnet,
    ...(subnet6 !== undefined ? { subnet6 } : {}),
    listenPort: values.has("listen-port")
      ? port("listen-port", values.get("listen-port")!)
      : DEFAULT_LISTEN_PORT,
    name: values.get("name") ?? DEFAULT_NAME,
    noEgress: flags.has("no-egress"),
    api,
    tokenFile,
    tokenEnv,
    tlsCert,
    tlsKey,
    insecureHttp,
    stateDir: values.get("state-dir"),
    verbose: flags.has("verbose"),
    forwards,
  };
}
