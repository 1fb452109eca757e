/**
 * The command-line flags that describe a tunnel (the wirecage flag set plus a
 * few more), as the CLI collects them, and their parsing into values. Key
 * files are read here.
 *
 * @module
 */

import type { Cidr, EndpointSpec, Key } from "./types.ts";
import {
  type DnsEntries,
  fail,
  flagSite,
  parseAddresses,
  parseAllowedIps,
  parseDns,
  parseEndpointValue,
  parseKeepalive,
  parseKeyValue,
  parseListenPort,
  parseMtu,
} from "./values.ts";
import { ConfigError } from "./config_error.ts";
import { MAX_INPUT_BYTES, MAX_INPUT_SHOWN } from "./read_limited.ts";

/** Where the config text comes from: `--config FILE`, `--config -`, `--config-env VAR`. */
export type ConfigSource =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "stdin" }
  | { readonly kind: "env"; readonly name: string };

/**
 * The tunnel flags exactly as typed (repeatable flags collected in order);
 * {@linkcode parseConfigFlags} checks them.
 */
export interface ConfigFlags {
  /** `--wg-private-key-file FILE` */
  privateKeyFile?: string;
  /** `--wg-public-key KEY`: the peer's public key. */
  publicKey?: string;
  /** `--wg-endpoint HOST:PORT` */
  endpoint?: string;
  /** `--wg-address CIDR`, repeatable, each may be a comma list. */
  addresses?: string[];
  /** `--wg-dns ADDR`, repeatable, each may be a comma list. */
  dns?: string[];
  /** `--wg-allowed-ips CIDRS`, repeatable, each may be a comma list. */
  allowedIps?: string[];
  /** `--wg-psk-file FILE` */
  pskFile?: string;
  /** `--wg-keepalive SECONDS` */
  keepalive?: string;
  /** `--mtu N` */
  mtu?: string;
  /** `--listen-port N` */
  listenPort?: string;
}

/** The flag names, for messages. */
export const FLAG_NAMES: Record<keyof ConfigFlags, string> = {
  privateKeyFile: "--wg-private-key-file",
  publicKey: "--wg-public-key",
  endpoint: "--wg-endpoint",
  addresses: "--wg-address",
  dns: "--wg-dns",
  allowedIps: "--wg-allowed-ips",
  pskFile: "--wg-psk-file",
  keepalive: "--wg-keepalive",
  mtu: "--mtu",
  listenPort: "--listen-port",
};

/** The peer flags: they describe the single peer. */
export const PEER_FLAGS: readonly (keyof ConfigFlags)[] = [
  "publicKey",
  "endpoint",
  "allowedIps",
  "pskFile",
  "keepalive",
];

/** Flags after parsing, each present only when given. */
export interface ParsedFlags {
  privateKey?: Key;
  addresses?: Cidr[];
  dns?: DnsEntries;
  mtu?: number;
  /** Present (possibly undefined, meaning any port) when `--listen-port` was given. */
  listenPort?: { value: number | undefined };
  publicKey?: Key;
  presharedKey?: Key;
  allowedIps?: Cidr[];
  endpoint?: EndpointSpec;
  keepalive?: number;
}

/** What reading key files needs from the host. */
export interface KeyFileIo {
  /** At most `maxBytes` bytes of the file (fewer when it ends first). */
  readFile(path: string, maxBytes: number): Promise<Uint8Array>;
  /** The file's mode, and its owner when known (absent: taken as ours). */
  stat(path: string): Promise<{ mode: number | null; uid?: number | null }>;
}

/**
 * Checks every flag and reads the key files. Warnings (key files readable by
 * others) are appended to `warnings`.
 */
export async function parseConfigFlags(
  flags: ConfigFlags,
  io: KeyFileIo,
  warnings: string[],
): Promise<ParsedFlags> {
  const parsed: ParsedFlags = {};
  if (flags.privateKeyFile !== undefined) {
    parsed.privateKey = await readKeyFile(
      FLAG_NAMES.privateKeyFile,
      flags.privateKeyFile,
      "private",
      io,
      warnings,
    );
  }
  if (flags.addresses !== undefined) {
    parsed.addresses = flags.addresses.flatMap((text) =>
      parseAddresses(flagSite(FLAG_NAMES.addresses), text)
    );
  }
  if (flags.dns !== undefined) {
    const entries = flags.dns.map((text) => parseDns(flagSite(FLAG_NAMES.dns), text));
    parsed.dns = {
      servers: entries.flatMap((entry) => entry.servers),
      search: entries.flatMap((entry) => entry.search),
      warnings: entries.flatMap((entry) => entry.warnings),
    };
    warnings.push(...parsed.dns.warnings);
  }
  if (flags.mtu !== undefined) parsed.mtu = parseMtu(flagSite(FLAG_NAMES.mtu), flags.mtu);
  if (flags.listenPort !== undefined) {
    parsed.listenPort = {
      value: parseListenPort(flagSite(FLAG_NAMES.listenPort), flags.listenPort),
    };
  }
  if (flags.publicKey !== undefined) {
    parsed.publicKey = parseKeyValue(flagSite(FLAG_NAMES.publicKey), flags.publicKey, "public");
  }
  if (flags.pskFile !== undefined) {
    parsed.presharedKey = await readKeyFile(
      FLAG_NAMES.pskFile,
      flags.pskFile,
      "preshared",
      io,
      warnings,
    );
  }
  if (flags.allowedIps !== undefined) {
    parsed.allowedIps = flags.allowedIps.flatMap((text) =>
      parseAllowedIps(flagSite(FLAG_NAMES.allowedIps), text)
    );
  }
  if (flags.endpoint !== undefined) {
    parsed.endpoint = parseEndpointValue(flagSite(FLAG_NAMES.endpoint), flags.endpoint);
  }
  if (flags.keepalive !== undefined) {
    parsed.keepalive = parseKeepalive(flagSite(FLAG_NAMES.keepalive), flags.keepalive);
  }
  return parsed;
}

async function readKeyFile(
  flag: string,
  path: string,
  kind: "private" | "preshared",
  io: KeyFileIo,
  warnings: string[],
): Promise<Key> {
  const text = await readSecretFile(path, `${flag} file`, io, warnings);
  const tool = kind === "private" ? "wg genkey" : "wg genpsk";
  const site = flagSite(flag);
  const lines = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== "");
  if (lines.length !== 1) {
    fail(
      site,
      `${flag} file '${path}' must hold one key on one line, as printed by '${tool}' (it has ${lines.length} lines)`,
    );
  }
  return parseKeyValue(
    { at: "", name: `${flag} file '${path}'` },
    lines[0].replace(/^\uFEFF/, ""),
    kind,
  );
}

/**
 * Reads a file that holds secrets: a clear one-line error when it cannot be
 * read, and a warning when others may read it too (as `wg` warns).
 */
export async function readSecretFile(
  path: string,
  what: string,
  io: KeyFileIo,
  warnings: string[],
): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await io.readFile(path, MAX_INPUT_BYTES + 1);
  } catch (error) {
    throw new ConfigError(
      `wgcage: Cannot read ${what} '${path}': ${readFailure(error)}`,
      { cause: error },
    );
  }
  if (bytes.length > MAX_INPUT_BYTES) {
    bytes.fill(0);
    throw new ConfigError(
      `wgcage: Cannot read ${what} '${path}': it holds over ${MAX_INPUT_SHOWN}, far more than a config or key; check the path`,
    );
  }
  const text = new TextDecoder().decode(bytes);
  bytes.fill(0);
  const warning = await accessWarning(path, io);
  if (warning !== undefined) warnings.push(warning);
  return text;
}

async function accessWarning(path: string, io: KeyFileIo): Promise<string | undefined> {
  let info: { mode: number | null; uid?: number | null };
  try {
    info = await io.stat(path);
  } catch {
    return undefined;
  }
  const mode = info.mode;
  if (mode === null || (mode & 0o077) === 0) return undefined;
  const octal = (mode & 0o777).toString(8).padStart(4, "0");
  const warning = `wgcage: Warning: '${path}' is accessible by other users (mode ${octal})`;
  // Only its owner (or root) can chmod it: anyone else is told whose it is.
  const owner = info.uid;
  if (owner === undefined || owner === null || owner === Deno.uid() || Deno.uid() === 0) {
    return `${warning}; run 'chmod 600 ${path}' to keep its keys private`;
  }
  return `${warning}; its owner, uid ${owner}, should make it private (chmod 600)`;
}

function readFailure(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file; check the path";
  if (error instanceof Deno.errors.PermissionDenied) {
    return "permission denied; run as a user who may read it, or fix its mode";
  }
  if (error instanceof Deno.errors.IsADirectory) return "it is a directory; give a file";
  return `${error instanceof Error ? error.message : String(error)}; check the file`;
}
