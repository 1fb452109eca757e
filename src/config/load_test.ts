import { deepStrictEqual, rejects, strictEqual } from "node:assert";
import { hostLoadIo, loadConfig, type LoadIo } from "./load.ts";
import { ConfigError } from "./config_error.ts";
import { formatCidr } from "./cidr.ts";
import type { ConfigFlags } from "./flags.ts";

const PRIVATE = "IMGyfWxyOFd5vribqxh4YSEY0RjR5KvL1Vtf9PTiwkE=";
const OTHER_PRIVATE = "QKNRge9DfG1nVVyMw1dCBZjud4LQUYPtFLN4at4HlGI=";
const PEER_A = "WLBgRfhkm5RRLUKzqZn6H5Iaojwov27AJdgR1sBO1k4=";
const PEER_B = "SBQ2C/ZQiCxGTF/wR8Pq8H044U4CSSeZST4j2qD1/VE=";
const PSK = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

const WG_CONF = `[Interface]
PrivateKey = ${PRIVATE}
Address = 10.0.0.2/32
DNS = 10.0.0.1
MTU = 1400
PostUp = true

[Peer]
PublicKey = ${PEER_A}
AllowedIPs = 10.0.0.0/24
Endpoint = 127.0.0.1:51820
`;

interface FakeFile {
  text: string;
  mode?: number;
}

/** An in-memory host: files with modes, stdin, environment (which `takeEnv` empties). */
function fakeIo(
  files: Record<string, FakeFile>,
  options: { stdin?: string; env?: Record<string, string> } = {},
): LoadIo {
  const bytes = (text: string, maxBytes: number) =>
    new TextEncoder().encode(text).subarray(0, maxBytes);
  return {
    readFile(path, maxBytes) {
      const file = files[path];
      if (file === undefined) return Promise.reject(new Deno.errors.NotFound(path));
      return Promise.resolve(bytes(file.text, maxBytes));
    },
    readStdin(maxBytes) {
      if (options.stdin === undefined) return Promise.reject(new Error("stdin is closed"));
      return Promise.resolve(bytes(options.stdin, maxBytes));
    },
    takeEnv(name) {
      const value = options.env?.[name];
      delete options.env?.[name];
      return Promise.resolve(value);
    },
    stat(path) {
      const file = files[path];
      if (file === undefined) return Promise.reject(new Deno.errors.NotFound(path));
      return Promise.resolve({ mode: 0o100000 | (file.mode ?? 0o600) });
    },
  };
}

const KEY_FILES = {
  "k.key": { text: `${PRIVATE}\n` },
  "other.key": { text: `${OTHER_PRIVATE}\n` },
  "psk.key": { text: `${PSK}\n` },
};

const WIRECAGE_FLAGS: ConfigFlags = {
  privateKeyFile: "k.key",
  publicKey: PEER_A,
  endpoint: "vpn.example.com:51820",
  addresses: ["10.0.0.2/32"],
};

async function configError(promise: Promise<unknown>, message: string): Promise<void> {
  await rejects(promise, (error: unknown) => {
    if (!(error instanceof ConfigError)) throw error;
    strictEqual(error.message, message);
    return true;
  });
}

Deno.test("loadConfig builds a config from the wirecage flags alone, with defaults", async () => {
  const { config, warnings } = await loadConfig(
    { flags: WIRECAGE_FLAGS },
    fakeIo(KEY_FILES),
  );
  strictEqual(config.source, "<flags>");
  strictEqual(config.iface.privateKey.secret, true);
  deepStrictEqual(config.iface.addresses.map(formatCidr), ["10.0.0.2/32"]);
  strictEqual(config.iface.mtu, 1420);
  strictEqual(config.iface.listenPort, undefined);
  deepStrictEqual(config.iface.dnsServers, []);
  strictEqual(config.peers.length, 1);
  strictEqual(config.peers[0].publicKey.toString(), PEER_A);
  deepStrictEqual(config.peers[0].allowedIps.map(formatCidr), ["0.0.0.0/0", "::/0"]);
  deepStrictEqual(config.peers[0].endpoint, { host: "vpn.example.com", port: 51820 });
  strictEqual(config.peers[0].persistentKeepalive, 0);
  strictEqual(config.peers[0].presharedKey, undefined);
  deepStrictEqual(warnings, []);
});

Deno.test("loadConfig reads every tunnel flag", async () => {
  const { config } = await loadConfig({
    flags: {
      ...WIRECAGE_FLAGS,
      addresses: ["10.0.0.2/32", "fd00::2/128,10.0.1.2"],
      dns: ["10.0.0.1,corp.example", "fd00::1"],
      allowedIps: ["10.0.0.0/24", "fd00::/64"],
      pskFile: "psk.key",
      keepalive: "25",
      mtu: "1300",
      listenPort: "51821",
    },
  }, fakeIo(KEY_FILES));
  deepStrictEqual(config.iface.addresses.map(formatCidr), [
    "10.0.0.2/32",
    "fd00::2/128",
    "10.0.1.2/32",
  ]);
  deepStrictEqual(config.iface.dnsServers, ["10.0.0.1", "fd00::1"]);
  deepStrictEqual(config.iface.dnsSearch, ["corp.example"]);
  strictEqual(config.iface.mtu, 1300);
  strictEqual(config.iface.listenPort, 51821);
  deepStrictEqual(config.peers[0].allowedIps.map(formatCidr), ["10.0.0.0/24", "fd00::/64"]);
  strictEqual(config.peers[0].presharedKey?.secret, true);
  strictEqual(config.peers[0].persistentKeepalive, 25);
});

Deno.test("loadConfig accepts flags without an endpoint when listening", async () => {
  const { config } = await loadConfig(
    { flags: { ...WIRECAGE_FLAGS, endpoint: undefined, listenPort: "51820" } },
    fakeIo(KEY_FILES),
  );
  strictEqual(config.peers[0].endpoint, undefined);
  strictEqual(config.iface.listenPort, 51820);
});

Deno.test("loadConfig says which flag is missing when flags alone are incomplete", async () => {
  const io = fakeIo(KEY_FILES);
  const cases: [ConfigFlags, string][] = [
    [
      { ...WIRECAGE_FLAGS, privateKeyFile: undefined },
      "wgcage: Missing --wg-private-key-file; give a file holding the private key (from 'wg genkey'), or use --config FILE",
    ],
    [
      { ...WIRECAGE_FLAGS, publicKey: undefined },
      "wgcage: Missing --wg-public-key; give the peer's public key (from 'wg pubkey' on the peer)",
    ],
    [
      { ...WIRECAGE_FLAGS, addresses: undefined },
      "wgcage: Missing --wg-address; give the tunnel address, e.g. --wg-address 10.0.0.2/32",
    ],
    [
      { ...WIRECAGE_FLAGS, endpoint: undefined },
      "wgcage: Missing --wg-endpoint; give the peer's HOST:PORT, or --listen-port N to wait for the peer to connect",
    ],
  ];
  for (const [flags, message] of cases) await configError(loadConfig({ flags }, io), message);
});

Deno.test("loadConfig reports bad flag values naming the flag", async () => {
  const io = fakeIo({ ...KEY_FILES, "two.key": { text: `${PRIVATE}\n${PRIVATE}\n` } });
  const cases: [ConfigFlags, string][] = [
    [
      { ...WIRECAGE_FLAGS, publicKey: "abc" },
      "wgcage: --wg-public-key is not a valid key (expected 44 characters of base64, as printed by 'wg pubkey')",
    ],
    [
      { ...WIRECAGE_FLAGS, endpoint: "vpn.example.com" },
      "wgcage: --wg-endpoint 'vpn.example.com' is not valid (the ':PORT' is missing); write it as HOST:PORT or [IPV6]:PORT, e.g. vpn.example.com:51820",
    ],
    [
      { ...WIRECAGE_FLAGS, addresses: ["10.0.0.2/40"] },
      "wgcage: --wg-address '10.0.0.2/40' is not a valid CIDR (prefix length 40 is over 32); write it like 10.0.0.2/32 or fd00::2/128",
    ],
    [
      { ...WIRECAGE_FLAGS, allowedIps: ["0.0.0.0/0", "everything"] },
      "wgcage: --wg-allowed-ips 'everything' is not a valid CIDR (expected 4 dot-separated numbers, found 1); write it like 10.0.0.0/24 or fd00::/64",
    ],
    [
      { ...WIRECAGE_FLAGS, dns: ["1.1.1.1.1"] },
      "wgcage: --wg-dns entry '1.1.1.1.1' is not a valid IP address (expected 4 dot-separated numbers, found 5); write a server like 10.0.0.1 or fd00::1",
    ],
    [
      { ...WIRECAGE_FLAGS, keepalive: "-1" },
      "wgcage: --wg-keepalive '-1' is not valid; use 'off' or seconds 1..65535 (25 is common)",
    ],
    [
      { ...WIRECAGE_FLAGS, mtu: "big" },
      "wgcage: --mtu 'big' is not a number; use e.g. 1420",
    ],
    [
      { ...WIRECAGE_FLAGS, mtu: "100" },
      "wgcage: --mtu 100 is outside 576..9000; use a value in range, e.g. 1420",
    ],
    [
      { ...WIRECAGE_FLAGS, addresses: ["fd00::2/128"], mtu: "1200" },
      "wgcage: --mtu 1200 is below 1280, the minimum for IPv6 (an address is IPv6); raise it to 1280..9000 or drop the IPv6 addresses",
    ],
    [
      { ...WIRECAGE_FLAGS, listenPort: "99999" },
      "wgcage: --listen-port '99999' is not valid (port 99999 is outside 0..65535); use a port number, e.g. 51820",
    ],
    [
      { ...WIRECAGE_FLAGS, privateKeyFile: "missing.key" },
      "wgcage: Cannot read --wg-private-key-file file 'missing.key': no such file; check the path",
    ],
    [
      { ...WIRECAGE_FLAGS, privateKeyFile: "two.key" },
      "wgcage: --wg-private-key-file file 'two.key' must hold one key on one line, as printed by 'wg genkey' (it has 2 lines)",
    ],
  ];
  for (const [flags, message] of cases) await configError(loadConfig({ flags }, io), message);
  const garbled = fakeIo({ "bad.key": { text: `${PRIVATE.slice(2)}\n` } });
  await configError(
    loadConfig({ flags: { ...WIRECAGE_FLAGS, privateKeyFile: "bad.key" } }, garbled),
    "wgcage: --wg-private-key-file file 'bad.key' is not a valid key (expected 44 characters of base64, as printed by 'wg genkey')",
  );
});

Deno.test("loadConfig merges defaults < file < flags", async () => {
  const io = fakeIo({ ...KEY_FILES, "wg.conf": { text: WG_CONF } });
  const fileOnly = await loadConfig({ config: { kind: "file", path: "wg.conf" }, flags: {} }, io);
  strictEqual(fileOnly.config.source, "wg.conf");
  strictEqual(fileOnly.config.iface.mtu, 1400);
  strictEqual(fileOnly.config.iface.privateKey.bytes[0], atob(PRIVATE).charCodeAt(0));
  deepStrictEqual(fileOnly.warnings, [
    "wgcage: wg.conf:6: PostUp is not run by wgcage (the cage has no host routing to change); remove it to silence this warning",
  ]);

  const merged = await loadConfig({
    config: { kind: "file", path: "wg.conf" },
    flags: {
      privateKeyFile: "other.key",
      addresses: ["10.9.0.2/32"],
      dns: ["10.9.0.1"],
      mtu: "1300",
      listenPort: "4500",
      publicKey: PEER_B,
      endpoint: "[::1]:4500",
      allowedIps: ["10.9.0.0/16"],
      pskFile: "psk.key",
      keepalive: "off",
    },
  }, io);
  const { iface, peers } = merged.config;
  strictEqual(merged.config.source, "wg.conf");
  strictEqual(iface.privateKey.bytes[0], atob(OTHER_PRIVATE).charCodeAt(0));
  deepStrictEqual(iface.addresses.map(formatCidr), ["10.9.0.2/32"]);
  deepStrictEqual(iface.dnsServers, ["10.9.0.1"]);
  strictEqual(iface.mtu, 1300);
  strictEqual(iface.listenPort, 4500);
  strictEqual(peers.length, 1);
  strictEqual(peers[0].publicKey.toString(), PEER_B);
  deepStrictEqual(peers[0].endpoint, { host: "::1", port: 4500 });
  deepStrictEqual(peers[0].allowedIps.map(formatCidr), ["10.9.0.0/16"]);
  strictEqual(peers[0].presharedKey?.bytes[0], 1);

  const partial = await loadConfig({
    config: { kind: "file", path: "wg.conf" },
    flags: { endpoint: "127.0.0.2:9" },
  }, io);
  deepStrictEqual(partial.config.peers[0].allowedIps.map(formatCidr), ["10.0.0.0/24"]);
  deepStrictEqual(partial.config.peers[0].endpoint, { host: "127.0.0.2", port: 9 });
  strictEqual(partial.config.iface.mtu, 1400);
});

Deno.test("loadConfig lets flags complete a file that lacks a key or a peer", async () => {
  const noKey = WG_CONF.replace(/PrivateKey = .*\n/, "");
  const noPeer = WG_CONF.slice(0, WG_CONF.indexOf("[Peer]"));
  const io = fakeIo({
    ...KEY_FILES,
    "nokey.conf": { text: noKey },
    "nopeer.conf": { text: noPeer },
  });
  const keyed = await loadConfig({
    config: { kind: "file", path: "nokey.conf" },
    flags: { privateKeyFile: "k.key" },
  }, io);
  strictEqual(keyed.config.iface.privateKey.bytes[0], atob(PRIVATE).charCodeAt(0));
  const peered = await loadConfig({
    config: { kind: "file", path: "nopeer.conf" },
    flags: { publicKey: PEER_A, endpoint: "127.0.0.1:1" },
  }, io);
  deepStrictEqual(peered.config.peers[0].allowedIps.map(formatCidr), ["0.0.0.0/0", "::/0"]);
});

Deno.test("loadConfig refuses peer flags when the file has several peers", async () => {
  const twoPeers = WG_CONF + `\n[Peer]\nPublicKey = ${PEER_B}\nAllowedIPs = 10.1.0.0/16\n`;
  const io = fakeIo({ ...KEY_FILES, "wg.conf": { text: twoPeers } });
  await configError(
    loadConfig({
      config: { kind: "file", path: "wg.conf" },
      flags: { endpoint: "127.0.0.1:2", keepalive: "25" },
    }, io),
    "wgcage: --wg-endpoint, --wg-keepalive apply to a single peer, but wg.conf has 2 [Peer] sections; set the values in the file's [Peer] sections instead",
  );
  await configError(
    loadConfig({ config: { kind: "file", path: "wg.conf" }, flags: { publicKey: PEER_B } }, io),
    "wgcage: --wg-public-key applies to a single peer, but wg.conf has 2 [Peer] sections; set the values in the file's [Peer] sections instead",
  );
  const interfaceFlagsAreFine = await loadConfig({
    config: { kind: "file", path: "wg.conf" },
    flags: { mtu: "1280" },
  }, io);
  strictEqual(interfaceFlagsAreFine.config.peers.length, 2);
});

Deno.test("loadConfig reads the config from stdin and names it <stdin>", async () => {
  const { config } = await loadConfig(
    { config: { kind: "stdin" }, flags: {} },
    fakeIo({}, { stdin: WG_CONF }),
  );
  strictEqual(config.source, "<stdin>");
  deepStrictEqual(config.warnings, [
    "wgcage: <stdin>:6: PostUp is not run by wgcage (the cage has no host routing to change); remove it to silence this warning",
  ]);
  await configError(
    loadConfig({ config: { kind: "stdin" }, flags: {} }, fakeIo({}, { stdin: " \n" })),
    "wgcage: The config on stdin is empty; it should hold a wg-quick config ([Interface] and [Peer])",
  );
  await configError(
    loadConfig({ config: { kind: "stdin" }, flags: {} }, fakeIo({})),
    "wgcage: Cannot read the config from stdin: stdin is closed; pipe it in, e.g. wgcage --config - -- CMD < wg.conf",
  );
  await configError(
    loadConfig(
      { config: { kind: "stdin" }, flags: {} },
      fakeIo({}, { stdin: WG_CONF.replace("MTU = 1400", "MTU = 14OO") }),
    ),
    "wgcage: <stdin>:5: MTU '14OO' is not a number; use e.g. 1420",
  );
});

Deno.test("loadConfig reads the config from an environment variable, naming it in errors", async () => {
  const { config } = await loadConfig(
    { config: { kind: "env", name: "WG_CONF" }, flags: {} },
    fakeIo({}, { env: { WG_CONF: WG_CONF } }),
  );
  strictEqual(config.source, "$WG_CONF");
  await configError(
    loadConfig({ config: { kind: "env", name: "WG_CONF" }, flags: {} }, fakeIo({})),
    "wgcage: Environment variable WG_CONF is not set; put the config text in it (e.g. a CI secret) or use --config FILE",
  );
  await configError(
    loadConfig(
      { config: { kind: "env", name: "WG_CONF" }, flags: {} },
      fakeIo({}, { env: { WG_CONF: "" } }),
    ),
    "wgcage: Environment variable WG_CONF is empty; it should hold a wg-quick config ([Interface] and [Peer])",
  );
  await configError(
    loadConfig(
      { config: { kind: "env", name: "WG_CONF" }, flags: {} },
      fakeIo({}, { env: { WG_CONF: "/etc/wireguard/wg0.conf" } }),
    ),
    "wgcage: $WG_CONF:1: Line has no '='; write 'Key = value' or a [Interface] or [Peer] header",
  );
  await configError(
    loadConfig(
      { config: { kind: "env", name: "WG_CONF" }, flags: {} },
      fakeIo({}, { env: { WG_CONF: "# only a comment" } }),
    ),
    "wgcage: $WG_CONF: No [Interface] section (WG_CONF must hold the config text itself; for a path use --config FILE); add one with PrivateKey and Address (see 'wgcage help config')",
  );
});

Deno.test("loadConfig warns about config and key files that others may read", async () => {
  const io = fakeIo({
    "wg.conf": { text: WG_CONF, mode: 0o644 },
    "k.key": { text: PRIVATE, mode: 0o640 },
    "psk.key": { text: PSK, mode: 0o604 },
  });
  const { warnings } = await loadConfig({
    config: { kind: "file", path: "wg.conf" },
    flags: { privateKeyFile: "k.key", pskFile: "psk.key" },
  }, io);
  deepStrictEqual(warnings, [
    "wgcage: Warning: 'wg.conf' is accessible by other users (mode 0644); run 'chmod 600 wg.conf' to keep its keys private",
    "wgcage: Warning: 'k.key' is accessible by other users (mode 0640); run 'chmod 600 k.key' to keep its keys private",
    "wgcage: Warning: 'psk.key' is accessible by other users (mode 0604); run 'chmod 600 psk.key' to keep its keys private",
    "wgcage: wg.conf:6: PostUp is not run by wgcage (the cage has no host routing to change); remove it to silence this warning",
  ]);
});

Deno.test("loadConfig works with real files: reads them and checks their modes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wgcage-config-test-" });
  try {
    const conf = `${dir}/wg0.conf`;
    const key = `${dir}/private.key`;
    await Deno.writeTextFile(conf, WG_CONF.replace(/PrivateKey = .*\n/, ""), { mode: 0o600 });
    await Deno.chmod(conf, 0o600);
    await Deno.writeTextFile(key, `${PRIVATE}\n`);
    await Deno.chmod(key, 0o644);
    const { config, warnings } = await loadConfig({
      config: { kind: "file", path: conf },
      flags: { privateKeyFile: key },
    }, hostLoadIo);
    strictEqual(config.source, conf);
    strictEqual(config.iface.privateKey.bytes[0], atob(PRIVATE).charCodeAt(0));
    deepStrictEqual(warnings.slice(0, 1), [
      `wgcage: Warning: '${key}' is accessible by other users (mode 0644); run 'chmod 600 ${key}' to keep its keys private`,
    ]);
    await configError(
      loadConfig({ config: { kind: "file", path: `${dir}/none.conf` }, flags: {} }, hostLoadIo),
      `wgcage: Cannot read config file '${dir}/none.conf': no such file; check the path`,
    );
    await configError(
      loadConfig({ config: { kind: "file", path: dir }, flags: {} }, hostLoadIo),
      `wgcage: Cannot read config file '${dir}': it is a directory; give a file`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the host loader reads the config from a piped stdin", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { hostLoadIo, loadConfig } from "${new URL("./load.ts", import.meta.url).href}";
       const { config } = await loadConfig({ config: { kind: "stdin" }, flags: {} }, hostLoadIo);
       console.log(config.source, config.peers.length, config.iface.mtu);`,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(WG_CONF));
  await writer.close();
  const output = await child.output();
  strictEqual(new TextDecoder().decode(output.stderr), "");
  strictEqual(new TextDecoder().decode(output.stdout), "<stdin> 1 1400\n");
  strictEqual(output.code, 0);
});
