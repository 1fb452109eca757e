/**
 * No message of the config loader shows a key: a corpus of broken configs
 * (the forms seen in the wild, then seeded random mutations of a real config)
 * goes through the real loader, and every error and warning is checked for
 * any 40-character stretch of any key of the config, in base64 or hex.
 */

import { strictEqual } from "node:assert";
import { loadConfig, type LoadIo } from "./load.ts";
import { ConfigError } from "./config_error.ts";
import type { ConfigFlags, ConfigSource } from "./flags.ts";
import { corePrimitives } from "../wg/primitives.ts";

/** mulberry32: a small seeded generator, so that a failure can be replayed. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = generator(0x5eed_c0de);
const below = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[below(items.length)];

function randomKey(): Uint8Array {
  return Uint8Array.from({ length: 32 }, () => below(256));
}

const privateBytes = randomKey();
const PRIVATE = privateBytes.toBase64();
const PUBLIC = corePrimitives().x25519Base(privateBytes).toBase64();
const PEER_A = corePrimitives().x25519Base(randomKey()).toBase64();
const PEER_B = corePrimitives().x25519Base(randomKey()).toBase64();
const PSK = randomKey().toBase64();
const KEYS = [PRIVATE, PUBLIC, PEER_A, PEER_B, PSK];
const SECRET_KEYS = [PRIVATE, PSK];

/** Every 40-character stretch of every key, in base64 and in hex. */
const FORBIDDEN = KEYS.flatMap((key) => {
  const hex = Uint8Array.fromBase64(key).toHex();
  return [key, hex, hex.toUpperCase()].flatMap((text) =>
    Array.from({ length: text.length - 39 }, (_, at) => text.slice(at, at + 40))
  );
});

const CONFIG = `[Interface]
PrivateKey = ${PRIVATE}
Address = 10.0.0.2/32, fd00::2/128
DNS = 10.0.0.1, corp.example
MTU = 1420
ListenPort = 51820

[Peer]
PublicKey = ${PEER_A}
PresharedKey = ${PSK}
AllowedIPs = 0.0.0.0/0, ::/0
Endpoint = vpn.example.com:51820
PersistentKeepalive = 25

[Peer]
PublicKey = ${PEER_B}
AllowedIPs = 10.9.0.0/16
Endpoint = 127.0.0.1:51821
`;

/** The forms reported from CI logs and support requests. */
const KNOWN_FORMS: string[] = [
  CONFIG.replace(`PrivateKey = ${PRIVATE}`, `PrivateKey: ${PRIVATE}`),
  CONFIG.replace(`PresharedKey = ${PSK}`, `PresharedKey ${PSK}`),
  CONFIG.replaceAll("\n", " "),
  CONFIG.replaceAll("\n", ""),
  CONFIG.replaceAll("\n", "\\n"),
  CONFIG.replace("Address = 10.0.0.2/32, fd00::2/128", `Address = ${PRIVATE}`),
  CONFIG.replace("DNS = 10.0.0.1, corp.example", `DNS = ${PRIVATE}`),
  CONFIG.replace("DNS = 10.0.0.1, corp.example", `DNS = 10.0.0.1, ${PSK.slice(0, 43)}`),
  CONFIG.replace("MTU = 1420", `MTU = ${PSK}`),
  CONFIG.replace("Endpoint = vpn.example.com:51820", `Endpoint = ${PSK}`),
  CONFIG.replace("Endpoint = vpn.example.com:51820", `Endpoint = ${PRIVATE}:51820`),
  CONFIG.replace(
    "Endpoint = vpn.example.com:51820",
    `Endpoint = ${PRIVATE.replace(/[+/=]/g, "")}:51820`,
  ),
  CONFIG.replace("AllowedIPs = 0.0.0.0/0, ::/0", `AllowedIPs = 0.0.0.0/0, ${PSK}`),
  CONFIG.replace("[Peer]", `[${PSK}]`),
  CONFIG.replace("[Peer]", `[Peer ${PSK}`),
  CONFIG.replace("[Peer]", `[Peer] ${PSK}`),
  CONFIG.replace(`PrivateKey = ${PRIVATE}`, PRIVATE),
  CONFIG.replace(`PrivateKey = ${PRIVATE}`, `${PRIVATE} = PrivateKey`),
  CONFIG.replace(`PrivateKey = ${PRIVATE}`, `PrivateKey = ${PRIVATE}${PRIVATE}`),
  CONFIG.replace(`PrivateKey = ${PRIVATE}`, `PrivateKey = ${PRIVATE.slice(0, 30)} ${PRIVATE}`),
  CONFIG.replace("ListenPort = 51820", `ListenPort = ${PRIVATE.slice(1)}`),
  CONFIG.replace("PersistentKeepalive = 25", `PersistentKeepalive = ${PSK}`),
  `${PRIVATE}\n${CONFIG}`,
  CONFIG.replace(
    `PrivateKey = ${PRIVATE}`,
    `PrivateKey = ${Uint8Array.fromBase64(PRIVATE).toHex()}`,
  )
    .replace(
      "Address = 10.0.0.2/32, fd00::2/128",
      `Address = ${Uint8Array.fromBase64(PRIVATE).toHex()}`,
    ),
];

const LINE_KEYS = [
  "PrivateKey",
  "Address",
  "DNS",
  "MTU",
  "ListenPort",
  "PublicKey",
  "PresharedKey",
  "AllowedIPs",
  "Endpoint",
  "PersistentKeepalive",
  "PostUp",
  "Table",
];
const NOISE = [" ", "=", "#", "[", "]", "\n", "\r", "\t", ",", ":", "/", "+", "'", "\0", "é", "a"];

/** One random edit of the kind that happens to configs pasted, typed or templated. */
const MUTATIONS: ((text: string) => string)[] = [
  // A character deleted, duplicated, swapped with the next, or added.
  (t) => {
    const at = below(t.length);
    return t.slice(0, at) + t.slice(at + 1);
  },
  (t) => {
    const at = below(t.length);
    return t.slice(0, at + 1) + t.slice(at);
  },
  (t) => {
    const at = below(t.length - 1);
    return t.slice(0, at) + t[at + 1] + t[at] + t.slice(at + 2);
  },
  (t) => {
    const at = below(t.length + 1);
    return t.slice(0, at) + pick(NOISE) + t.slice(at);
  },
  // Lines joined: one break, or all of them (a one-line CI secret).
  (t) => {
    const breaks = [...t.matchAll(/\n/g)].map((m) => m.index);
    const at = breaks.length > 0 ? pick(breaks) : 0;
    return t.slice(0, at) + pick(["", " ", "\\n"]) + t.slice(at + 1);
  },
  (t) => t.replaceAll("\n", pick([" ", "", "\t", "\\n"])),
  // A key moved or copied onto another line, in place of its value, its name, or all of it.
  (t) => {
    const lines = t.split("\n");
    const key = pick(KEYS);
    const i = below(lines.length);
    const eq = lines[i].indexOf("=");
    lines[i] = pick([
      eq < 0 ? key : `${lines[i].slice(0, eq + 1)} ${key}`,
      key,
      `${key} = ${lines[i]}`,
      `[${key}]`,
      `${lines[i]} ${key}`,
      `${lines[i]}${key}`,
    ]);
    return lines.join("\n");
  },
  // A key damaged where it stands: cut short, split, doubled, glued to its neighbour.
  (t) => {
    const key = pick(KEYS);
    const at = t.indexOf(key);
    if (at < 0) return t;
    const cut = 1 + below(key.length - 1);
    const damaged = pick([
      key.slice(0, cut),
      key.slice(cut),
      `${key.slice(0, cut)}${pick(NOISE)}${key.slice(cut)}`,
      key + key,
      key.slice(0, cut) + key.slice(cut + 1),
      key.replace("=", ""),
    ]);
    return t.slice(0, at) + damaged + t.slice(at + key.length);
  },
  // Lines removed, duplicated, swapped, or renamed to another key.
  (t) => {
    const lines = t.split("\n");
    lines.splice(below(lines.length), 1);
    return lines.join("\n");
  },
  (t) => {
    const lines = t.split("\n");
    const i = below(lines.length);
    lines.splice(i, 0, lines[i]);
    return lines.join("\n");
  },
  (t) => {
    const lines = t.split("\n");
    const i = below(lines.length);
    const j = below(lines.length);
    [lines[i], lines[j]] = [lines[j], lines[i]];
    return lines.join("\n");
  },
  (t) => {
    const lines = t.split("\n");
    const i = below(lines.length);
    lines[i] = lines[i].replace(/^[^=]*=/, `${pick(LINE_KEYS)} =`);
    return lines.join("\n");
  },
  // '=' lost or turned into ':'; the text cut short; other line ends.
  (t) => {
    const lines = t.split("\n");
    const i = below(lines.length);
    lines[i] = lines[i].replace("=", pick(["", ":", " ", "=="]));
    return lines.join("\n");
  },
  (t) => t.slice(0, below(t.length + 1)),
  (t) => t.replaceAll("\n", pick(["\r", "\r\n", "\n\n"])),
];

function mutate(text: string): string {
  let result = text;
  for (let n = 1 + below(4); n > 0; n--) result = pick(MUTATIONS)(result);
  return result;
}

/** A host whose only file is `wg.conf`, and key files holding `keyText`. */
function io(config: string, keyText: string): LoadIo {
  const bytes = (text: string, maxBytes: number) =>
    new TextEncoder().encode(text).subarray(0, maxBytes);
  return {
    readFile: (path, maxBytes) =>
      Promise.resolve(bytes(path === "wg.conf" ? config : keyText, maxBytes)),
    readStdin: (maxBytes) => Promise.resolve(bytes(config, maxBytes)),
    takeEnv: () => Promise.resolve(config),
    stat: () => Promise.resolve({ mode: 0o100600 }),
  };
}

/** Every message loading `text` gives: the error, or the warnings. */
async function messages(
  config: ConfigSource | undefined,
  flags: ConfigFlags,
  host: LoadIo,
): Promise<string[]> {
  try {
    return (await loadConfig({ config, flags }, host)).warnings;
  } catch (error) {
    if (!(error instanceof ConfigError)) {
      throw new Error(`not a ConfigError: ${error instanceof Error ? error.stack : error}`);
    }
    strictEqual(error.exitCode, 125);
    return [error.message];
  }
}

function check(message: string, input: string): void {
  const leak = FORBIDDEN.find((stretch) => message.includes(stretch));
  if (leak !== undefined) {
    throw new Error(`A message shows a key (${leak}): ${message}\ninput: ${JSON.stringify(input)}`);
  }
  for (const key of SECRET_KEYS) {
    // Nor half of a secret key: what the input holds as one run of 20 or
    // more characters is redacted whole.
    for (let at = 0; at + 20 <= key.length; at++) {
      if (message.includes(key.slice(at, at + 20))) {
        throw new Error(`A message shows part of a secret key: ${message}`);
      }
    }
  }
  if (!message.startsWith("wgcage: ") || /[\n\r\0]/.test(message) || message.length > 600) {
    throw new Error(`Not one short line: ${JSON.stringify(message)}`);
  }
}

const FILE: ConfigSource = { kind: "file", path: "wg.conf" };

Deno.test("no message shows a key for the forms of broken config seen in the wild", async () => {
  let redacted = 0;
  for (const text of KNOWN_FORMS) {
    for (const message of await messages(FILE, {}, io(text, ""))) {
      check(message, text);
      if (message.includes("<redacted>")) {
        redacted++;
        // Still names the place.
        strictEqual(/wg\.conf:\d+: /.test(message), true, message);
      }
    }
  }
  strictEqual(redacted > 5, true, `only ${redacted} messages needed a redaction`);
});

Deno.test("no message shows a key for 12,000 seeded random mutations of a real config", async () => {
  const outcomes = new Map<string, number>();
  for (let i = 0; i < 12_000; i++) {
    const text = mutate(i % 3 === 0 ? pick(KNOWN_FORMS) : CONFIG);
    // Most go in as a file; some through stdin, the environment, or with
    // flags and key files that are just as broken.
    const source: ConfigSource = pick([
      FILE,
      FILE,
      FILE,
      { kind: "stdin" },
      { kind: "env", name: "WG_CONF" },
    ]);
    const flags: ConfigFlags = i % 10 === 0
      ? { privateKeyFile: "k.key", publicKey: mutate(PEER_A), endpoint: mutate(`vpn:${PSK}`) }
      : {};
    for (const message of await messages(source, flags, io(text, mutate(PRIVATE)))) {
      check(message, text);
      const kind = message.replace(/^wgcage: (\S+:\d+: )?/, "").split(/[ ']/)[0];
      outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
    }
  }
  // The corpus reaches many different checks, not only the first one.
  strictEqual(outcomes.size > 15, true, [...outcomes.keys()].join(", "));
});
