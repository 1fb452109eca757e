/**
 * The wg-quick config format, as users already have it:
 *
 * ```ini
 * [Interface]
 * PrivateKey = <from wg genkey>
 * Address = 10.0.0.2/32, fd00::2/128
 * DNS = 10.0.0.1, corp.example
 *
 * [Peer]
 * PublicKey = <from wg pubkey>
 * AllowedIPs = 0.0.0.0/0, ::/0
 * Endpoint = vpn.example.com:51820
 * ```
 *
 * Section and key names are case-insensitive, `#` starts a comment, blank
 * space around names and values is ignored, CRLF line ends and a UTF-8 BOM
 * are accepted. Keys that only make sense for a host interface (Table,
 * FwMark, SaveConfig, the Pre/Post Up/Down hooks) become warnings.
 *
 * @module
 */

import type { TunnelConfig } from "./types.ts";
import { closestMatch } from "./did_you_mean.ts";
import { MessageGuard } from "./message_guard.ts";
import {
  type ConfigDraft,
  emptyInterface,
  emptyPeer,
  finalizeConfig,
  type InterfaceDraft,
  type PeerDraft,
} from "./draft.ts";
import {
  fail,
  lineSite,
  parseAddresses,
  parseAllowedIps,
  parseDns,
  parseEndpointValue,
  parseKeepalive,
  parseKeyValue,
  parseListenPort,
  parseMtu,
  type Site,
} from "./values.ts";

/** The keys of `[Interface]` that wgcage acts on, spelt as wg-quick documents them. */
export const INTERFACE_KEYS = ["PrivateKey", "Address", "DNS", "MTU", "ListenPort"] as const;

/** The keys of `[Peer]`, spelt as wg documents them. */
export const PEER_KEYS = [
  "PublicKey",
  "PresharedKey",
  "AllowedIPs",
  "Endpoint",
  "PersistentKeepalive",
] as const;

/** `[Interface]` keys that are read but not acted on, with the reason. */
const IGNORED_KEYS: Record<string, string> = {
  Table: "is ignored by wgcage (routes go into the cage's own namespace)",
  FwMark: "is ignored by wgcage (its UDP socket is an ordinary process socket)",
  SaveConfig: "is ignored by wgcage (it never writes the config file)",
  PreUp: "is not run by wgcage (the cage has no host routing to change)",
  PostUp: "is not run by wgcage (the cage has no host routing to change)",
  PreDown: "is not run by wgcage (the cage has no host routing to change)",
  PostDown: "is not run by wgcage (the cage has no host routing to change)",
};

/** Keys that may be given once per section; the others add up. */
const SINGLE_KEYS = new Set([
  "PrivateKey",
  "MTU",
  "ListenPort",
  "PublicKey",
  "PresharedKey",
  "Endpoint",
  "PersistentKeepalive",
]);

/** Keys whose value may be empty (`AllowedIPs =` means none, as in wg). */
const MAY_BE_EMPTY = new Set(["AllowedIPs", ...Object.keys(IGNORED_KEYS)]);

type Section =
  | { kind: "interface"; draft: InterfaceDraft; seen: Map<string, number> }
  | { kind: "peer"; draft: PeerDraft; seen: Map<string, number> };

/**
 * Reads wg-quick text into a draft (no completeness checks yet, so flags can
 * still fill gaps). `source` names the text in messages: a path, `<stdin>`
 * or `$VAR`. Throws a {@linkcode ConfigError} on the first broken line.
 */
export function readWgQuick(text: string, source: string): ConfigDraft {
  const draft: ConfigDraft = { source, peers: [], warnings: [] };
  let section: Section | undefined;
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\n|\r/);
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const at = `${source}:${lineNumber}: `;
    const hash = lines[index].indexOf("#");
    const line = (hash < 0 ? lines[index] : lines[index].slice(0, hash)).trim();
    if (line === "") continue;
    if (line.startsWith("[")) {
      section = openSection(draft, line, lineNumber);
      continue;
    }
    const equals = line.indexOf("=");
    const lineOnly: Site = { at, name: "" };
    if (equals < 0) {
      fail(lineOnly, `Line has no '='; write 'Key = value' or a [Interface] or [Peer] header`);
    }
    const written = line.slice(0, equals).trim();
    const value = line.slice(equals + 1).trim();
    if (written === "") fail(lineOnly, `Line has no key before '='; write 'Key = value'`);
    const key = canonicalKey(written);
    if (section === undefined) {
      fail(
        lineOnly,
        `Key '${written}' is outside a section; put it under [Interface] or [Peer]`,
      );
    }
    const site = lineSite(source, lineNumber, key ?? written);
    const name = checkKeyBelongs(site, written, key, section.kind);
    if (value === "" && !MAY_BE_EMPTY.has(name)) {
      fail(site, `${name} has no value; write '${name} = …' or remove the line`);
    }
    if (SINGLE_KEYS.has(name)) {
      const first = section.seen.get(name);
      if (first !== undefined) {
        fail(site, `${name} is set twice in this section (first on line ${first}); keep one`);
      }
      section.seen.set(name, lineNumber);
    }
    if (section.kind === "interface") {
      setInterfaceKey(draft, section.draft, site, name, value);
    } else {
      setPeerKey(section.draft, site, name, value);
    }
  }
  return draft;
}

/**
 * Parses and checks wg-quick text into a {@linkcode TunnelConfig}, with no
 * flags laid over it. Its messages pass through a {@linkcode MessageGuard},
 * as the loader's do.
 *
 * @example
 * ```ts
 * import { parseWgQuick } from "./wg_quick.ts";
 * const config = parseWgQuick(
 *   "[Interface]\nPrivateKey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nAddress = 10.0.0.2\n" +
 *     "[Peer]\nPublicKey = AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\nEndpoint = 127.0.0.1:51820\n",
 *   "wg.conf",
 * );
 * config.iface.mtu; // 1420
 * ```
 */
export function parseWgQuick(text: string, source: string): TunnelConfig {
  const guard = new MessageGuard();
  guard.addInput(text);
  try {
    const config = finalizeConfig(readWgQuick(text, source));
    return { ...config, warnings: config.warnings.map((line) => guard.clean(line)) };
  } catch (error) {
    throw guard.cleanError(error);
  }
}

function openSection(draft: ConfigDraft, line: string, lineNumber: number): Section {
  const site: Site = { at: `${draft.source}:${lineNumber}: `, name: "" };
  const close = line.indexOf("]");
  if (close < 0) fail(site, `Section header '${line}' has no closing ']'`);
  const name = line.slice(1, close).trim();
  const lower = name.toLowerCase();
  if (close < line.length - 1 && (lower === "interface" || lower === "peer")) {
    // A config pasted as one line (a CI secret, say) lost its line breaks.
    fail(
      site,
      `Section header '[${name}]' has more text after it on the same line; put the header and each 'Key = value' on a line of its own (were the line breaks lost when the config was pasted?)`,
    );
  }
  if (lower === "interface") {
    if (draft.iface !== undefined) {
      fail(
        site,
        `A second [Interface] section (the first is at ${
          draft.iface.at.replace(/: $/, "")
        }); merge them into one`,
      );
    }
    draft.iface = emptyInterface(site.at);
    return { kind: "interface", draft: draft.iface, seen: new Map() };
  }
  if (lower === "peer") {
    const peer = emptyPeer(site.at);
    draft.peers.push(peer);
    return { kind: "peer", draft: peer, seen: new Map() };
  }
  const guess = closestMatch(name, ["Interface", "Peer"]);
  return fail(
    site,
    `Unknown section '[${name}]'; ${
      guess ? `did you mean '[${guess}]'?` : "use [Interface] or [Peer]"
    }`,
  );
}

const ALL_KEYS: readonly string[] = [
  ...INTERFACE_KEYS,
  ...PEER_KEYS,
  ...Object.keys(IGNORED_KEYS),
];

function canonicalKey(written: string): string | undefined {
  const lower = written.toLowerCase();
  return ALL_KEYS.find((key) => key.toLowerCase() === lower);
}

function checkKeyBelongs(
  site: Site,
  written: string,
  key: string | undefined,
  kind: "interface" | "peer",
): string {
  const here: readonly string[] = kind === "interface"
    ? [...INTERFACE_KEYS, ...Object.keys(IGNORED_KEYS)]
    : PEER_KEYS;
  const sectionName = kind === "interface" ? "[Interface]" : "[Peer]";
  if (key !== undefined && here.includes(key)) return key;
  if (key !== undefined) {
    const other = kind === "interface" ? "[Peer]" : "[Interface]";
    fail(site, `${key} belongs in ${other}, not in ${sectionName}; move the line there`);
  }
  const guess = closestMatch(written, here);
  return fail(
    site,
    `Unknown key '${written}' in ${sectionName}; ${
      guess ? `did you mean '${guess}'?` : `expected one of ${here.join(", ")}`
    }`,
  );
}

function setInterfaceKey(
  draft: ConfigDraft,
  iface: InterfaceDraft,
  site: Site,
  key: string,
  value: string,
): void {
  switch (key) {
    case "PrivateKey":
      iface.privateKey = parseKeyValue(site, value, "private");
      iface.privateKeySite = site;
      return;
    case "Address":
      iface.addresses.push(...parseAddresses(site, value));
      return;
    case "DNS": {
      const dns = parseDns(site, value);
      iface.dnsServers.push(...dns.servers);
      iface.dnsSearch.push(...dns.search);
      draft.warnings.push(...dns.warnings);
      return;
    }
    case "MTU":
      iface.mtu = { value: parseMtu(site, value), site };
      return;
    case "ListenPort":
      iface.listenPort = parseListenPort(site, value);
      return;
    default:
      draft.warnings.push(
        `wgcage: ${site.at}${key} ${IGNORED_KEYS[key]}; remove it to silence this warning`,
      );
  }
}

function setPeerKey(peer: PeerDraft, site: Site, key: string, value: string): void {
  switch (key) {
    case "PublicKey":
      peer.publicKey = parseKeyValue(site, value, "public");
      peer.publicKeySite = site;
      return;
    case "PresharedKey":
      peer.presharedKey = parseKeyValue(site, value, "preshared");
      return;
    case "AllowedIPs":
      peer.allowedIps.push(...parseAllowedIps(site, value));
      return;
    case "Endpoint":
      peer.endpoint = parseEndpointValue(site, value);
      return;
    case "PersistentKeepalive":
      peer.persistentKeepalive = parseKeepalive(site, value);
      return;
  }
}
