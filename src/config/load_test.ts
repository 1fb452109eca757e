import { deepStrictEqual, rejects, strictEqual } from "node:assert";
import { hostLoadIo, loadConfig, type LoadIo } from "./load.ts";
import { ConfigError } from "./config_error.ts";
import { formatCidr } from "./cidr.ts";
import type { ConfigFlags } from "./flags.ts";
import { corePrimitives } from "../wg/primitives.ts";

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
      "wgcage: --mtu 1200 is below 1280, the minimum for IPv6, and every address is IPv6; raise it to 1280..9000 or add an IPv4 address",
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
    'wgcage: Environment variable WG_CONF holds a path, not the config text; give the file with --config FILE, or put its text in WG_CONF (WG_CONF="$(cat wg0.conf)")',
  );
  await configError(
    loadConfig(
      { config: { kind: "env", name: "WG_CONF" }, flags: {} },
      fakeIo({}, { env: { WG_CONF: btoa(WG_CONF).replace(/.{60}/g, "$&\n") } }),
    ),
    'wgcage: Environment variable WG_CONF holds the config in base64; decode it first: WG_CONF="$(printf %s "$WG_CONF" | base64 -d)"',
  );
  await configError(
    loadConfig(
      { config: { kind: "env", name: "WG_CONF" }, flags: {} },
      fakeIo({}, { env: { WG_CONF: "# only a comment" } }),
    ),
    "wgcage: $WG_CONF: No [Interface] section (WG_CONF must hold the config text itself; for a path use --config FILE); add one with PrivateKey and Address (see 'wgcage help config')",
  );
});

Deno.test("loadConfig without a config nor flags names the three ways to give one", async () => {
  await configError(
    loadConfig({ flags: {} }, fakeIo({})),
    "wgcage: No config: give --config FILE, --config-env VAR or the --wg-* flags (see 'wgcage help config')",
  );
});

Deno.test("--config NAME, a bare interface name that is no file here, reads /etc/wireguard/NAME.conf as wg-quick does", async () => {
  const io = fakeIo({ "/etc/wireguard/office.conf": { text: WG_CONF }, "home": { text: WG_CONF } });
  const office = await loadConfig({ config: { kind: "file", path: "office" }, flags: {} }, io);
  strictEqual(office.config.source, "/etc/wireguard/office.conf");
  // A file of that name here is read as before.
  const home = await loadConfig({ config: { kind: "file", path: "home" }, flags: {} }, io);
  strictEqual(home.config.source, "home");
  await configError(
    loadConfig({ config: { kind: "file", path: "wg9" }, flags: {} }, io),
    "wgcage: Cannot read config file 'wg9': no such file here, nor /etc/wireguard/wg9.conf " +
      "(where wg-quick looks for a bare name); check the name",
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

const MIB = 1024 * 1024;

Deno.test("loadConfig refuses a config or key file, stdin or variable over 1 MiB, reading at most 1 MiB + 1 bytes", async () => {
  const asked: number[] = [];
  const huge = `${WG_CONF}#${"x".repeat(2 * MIB)}\n`;
  const base = fakeIo({ "big.conf": { text: huge }, "big.key": { text: huge } }, {
    stdin: huge,
    env: { WG_CONF: huge },
  });
  const io: LoadIo = {
    ...base,
    readFile(path, maxBytes) {
      asked.push(maxBytes);
      return base.readFile(path, maxBytes);
    },
    readStdin(maxBytes) {
      asked.push(maxBytes);
      return base.readStdin(maxBytes);
    },
  };
  await configError(
    loadConfig({ config: { kind: "file", path: "big.conf" }, flags: {} }, io),
    "wgcage: Cannot read config file 'big.conf': it holds over 1 MiB, far more than a config or key; check the path",
  );
  await configError(
    loadConfig({ flags: { ...WIRECAGE_FLAGS, privateKeyFile: "big.key" } }, io),
    "wgcage: Cannot read --wg-private-key-file file 'big.key': it holds over 1 MiB, far more than a config or key; check the path",
  );
  await configError(
    loadConfig({ config: { kind: "stdin" }, flags: {} }, io),
    "wgcage: Cannot read the config from stdin: it holds over 1 MiB, far more than a config; pipe in the wg-quick config itself",
  );
  await configError(
    loadConfig({ config: { kind: "env", name: "WG_CONF" }, flags: {} }, io),
    "wgcage: Environment variable WG_CONF holds over 1 MiB, far more than a config; put the wg-quick config text itself in it",
  );
  deepStrictEqual(asked, [MIB + 1, MIB + 1, MIB + 1]);
  // Exactly 1 MiB is still read.
  const padded = WG_CONF + "#".repeat(MIB - new TextEncoder().encode(WG_CONF).length);
  const { config } = await loadConfig(
    { config: { kind: "file", path: "max.conf" }, flags: {} },
    fakeIo({ "max.conf": { text: padded } }),
  );
  strictEqual(config.iface.mtu, 1400);
});

Deno.test("the host loader refuses /dev/zero as the config and as a key file", async () => {
  await configError(
    loadConfig({ config: { kind: "file", path: "/dev/zero" }, flags: {} }, hostLoadIo),
    "wgcage: Cannot read config file '/dev/zero': it holds over 1 MiB, far more than a config or key; check the path",
  );
  await configError(
    loadConfig({ flags: { ...WIRECAGE_FLAGS, privateKeyFile: "/dev/zero" } }, hostLoadIo),
    "wgcage: Cannot read --wg-private-key-file file '/dev/zero': it holds over 1 MiB, far more than a config or key; check the path",
  );
});

Deno.test("a long value is shown cut to its first 40 characters", async () => {
  const value = "1".repeat(MIB - 1000);
  await configError(
    loadConfig(
      { config: { kind: "file", path: "wg.conf" }, flags: {} },
      fakeIo({ "wg.conf": { text: WG_CONF.replace("MTU = 1400", `MTU = ${value}`) } }),
    ),
    `wgcage: wg.conf:5: MTU '${"1".repeat(40)}…' is not a number; use e.g. 1420`,
  );
  await configError(
    loadConfig(
      { flags: { ...WIRECAGE_FLAGS, endpoint: `${"a".repeat(5000)}:1:2` } },
      fakeIo(KEY_FILES),
    ),
    `wgcage: --wg-endpoint '${
      "a".repeat(40)
    }…' is not valid (an IPv6 address needs brackets, as in [fd00::1]:51820); write it as HOST:PORT or [IPV6]:PORT, e.g. vpn.example.com:51820`,
  );
});

/** Little-endian bytes of a number below 2^256, as base64: a public key. */
function keyOf(n: bigint): string {
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return bytes.toBase64();
}

const P = 2n ** 255n - 19n;

Deno.test("a deferred peer key check returns the config, then rejects with the same line", async () => {
  const FIX = "use the peer's public key (run 'wg pubkey' on the peer)";
  const loaded = await loadConfig(
    { flags: { ...WIRECAGE_FLAGS, publicKey: keyOf(0n) } },
    fakeIo(KEY_FILES),
    { deferPeerKeyCheck: true },
  );
  strictEqual(loaded.config.peers.length, 1);
  await configError(
    loaded.peerKeysChecked,
    `wgcage: --wg-public-key is all zeros, not a key; ${FIX}`,
  );
  const fine = await loadConfig({ flags: WIRECAGE_FLAGS }, fakeIo(KEY_FILES), {
    deferPeerKeyCheck: true,
  });
  await fine.peerKeysChecked;
});

Deno.test("loadConfig refuses peer keys that cannot make a session, naming the line or flag", async () => {
  const ours = corePrimitives().x25519Base(Uint8Array.fromBase64(PRIVATE)).toBase64();
  const withPeer = (key: string) => WG_CONF.replace(`PublicKey = ${PEER_A}`, `PublicKey = ${key}`);
  const FIX = "use the peer's public key (run 'wg pubkey' on the peer)";
  const cases: [string, string][] = [
    [keyOf(0n), `wgcage: wg.conf:9: PublicKey is all zeros, not a key; ${FIX}`],
    [
      ours,
      `wgcage: wg.conf:9: PublicKey is our own public key (that of PrivateKey at wg.conf:2), not the peer's; ${FIX}`,
    ],
  ];
  // Points of order 1, 2 and 4, as the curve's numbers and in their other spellings.
  for (const u of [1n, P - 1n, P, P + 1n, 2n ** 255n, 2n ** 255n + 1n]) {
    cases.push([
      keyOf(u),
      `wgcage: wg.conf:9: PublicKey is a low-order point, not a usable public key (no shared secret comes of it); ${FIX}`,
    ]);
  }
  for (const [key, message] of cases) {
    await configError(
      loadConfig(
        { config: { kind: "file", path: "wg.conf" }, flags: {} },
        fakeIo({ "wg.conf": { text: withPeer(key) } }),
      ),
      message,
    );
  }
  await configError(
    loadConfig({ flags: { ...WIRECAGE_FLAGS, publicKey: keyOf(0n) } }, fakeIo(KEY_FILES)),
    `wgcage: --wg-public-key is all zeros, not a key; ${FIX}`,
  );
  await configError(
    loadConfig({ flags: { ...WIRECAGE_FLAGS, publicKey: ours } }, fakeIo(KEY_FILES)),
    `wgcage: --wg-public-key is our own public key (that of --wg-private-key-file), not the peer's; ${FIX}`,
  );
  // A key file replacing the config's private key makes the config's peer key ours.
  const otherPublic = corePrimitives().x25519Base(Uint8Array.fromBase64(OTHER_PRIVATE)).toBase64();
  await configError(
    loadConfig(
      { config: { kind: "file", path: "wg.conf" }, flags: { privateKeyFile: "other.key" } },
      fakeIo({ ...KEY_FILES, "wg.conf": { text: withPeer(otherPublic) } }),
    ),
    `wgcage: wg.conf:9: PublicKey is our own public key (that of --wg-private-key-file), not the peer's; ${FIX}`,
  );
});

Deno.test("a DNS entry that looks like a mistyped server is taken as a search domain, with a warning", async () => {
  const { config, warnings } = await loadConfig(
    { config: { kind: "file", path: "wg.conf" }, flags: { dns: ["10.0.0.53,corp.1"] } },
    fakeIo({ "wg.conf": { text: WG_CONF.replace("DNS = 10.0.0.1", "DNS =a10.77.0.1") } }),
  );
  deepStrictEqual(config.iface.dnsSearch, ["corp.1"]);
  const file = await loadConfig(
    { config: { kind: "file", path: "wg.conf" }, flags: {} },
    fakeIo({ "wg.conf": { text: WG_CONF.replace("DNS = 10.0.0.1", "DNS =a10.77.0.1") } }),
  );
  deepStrictEqual(file.config.iface.dnsServers, []);
  deepStrictEqual(file.config.iface.dnsSearch, ["a10.77.0.1"]);
  deepStrictEqual(file.warnings.filter((w) => /dns/i.test(w)), [
    "wgcage: wg.conf:4: DNS entry 'a10.77.0.1' is not an IP address, taken as a search domain; if it is meant as a server, write the address alone (10.77.0.1)",
  ]);
  deepStrictEqual(warnings.filter((w) => /dns/i.test(w)), [
    "wgcage: --wg-dns entry 'corp.1' is not an IP address, taken as a search domain; if it is meant as a server, write its IP address",
    "wgcage: wg.conf:4: DNS entry 'a10.77.0.1' is not an IP address, taken as a search domain; if it is meant as a server, write the address alone (10.77.0.1)",
  ]);
  // Ordinary search domains say nothing.
  const plain = await loadConfig(
    { config: { kind: "file", path: "wg.conf" }, flags: { dns: ["10.0.0.53, corp.example"] } },
    fakeIo({ "wg.conf": { text: WG_CONF } }),
  );
  deepStrictEqual(plain.warnings.filter((w) => /dns/i.test(w)), []);
});

Deno.test("an Endpoint host or DNS search domain that looks like a key is refused, not looked up", async () => {
  const bare = PSK.replace(/[+/=]/g, "").replace(/^A+/, "x") + "Zz";
  const keyLike = "Zq3kP9vLm2TxR7wYc4Hn8bJd";
  await configError(
    loadConfig(
      { config: { kind: "file", path: "wg.conf" }, flags: {} },
      fakeIo({
        "wg.conf": {
          text: WG_CONF.replace(
            "Endpoint = 127.0.0.1:51820",
            `Endpoint = ${keyLike}.example:51820`,
          ),
        },
      }),
    ),
    "wgcage: wg.conf:11: Endpoint host looks like a key (a long run of mixed-case letters), not a host name; write the peer's HOST:PORT, a host name in lower case",
  );
  await configError(
    loadConfig({ flags: { ...WIRECAGE_FLAGS, dns: [`10.0.0.1, ${bare}`] } }, fakeIo(KEY_FILES)),
    "wgcage: --wg-dns entry looks like a key (a long run of mixed-case letters), not a server or a search domain; write servers like 10.0.0.1 and domains in lower case, like corp.example",
  );
  // The same name in lower case is a host name.
  const { config } = await loadConfig(
    { flags: { ...WIRECAGE_FLAGS, endpoint: `${keyLike.toLowerCase()}.example:51820` } },
    fakeIo(KEY_FILES),
  );
  strictEqual(config.peers[0].endpoint?.host, `${keyLike.toLowerCase()}.example`);
});

Deno.test("a one-line config (line breaks lost) says so without showing its keys", async () => {
  await configError(
    loadConfig(
      { config: { kind: "env", name: "WG_CONF" }, flags: {} },
      fakeIo({}, { env: { WG_CONF: WG_CONF.replaceAll("\n", " ") } }),
    ),
    "wgcage: $WG_CONF:1: Section header '[Interface]' has more text after it on the same line; put the header and each 'Key = value' on a line of its own (were the line breaks lost when the config was pasted?)",
  );
  await configError(
    loadConfig(
      { config: { kind: "file", path: "wg.conf" }, flags: {} },
      fakeIo({
        "wg.conf": { text: WG_CONF.replace(`PrivateKey = ${PRIVATE}`, `PrivateKey: ${PRIVATE}`) },
      }),
    ),
    "wgcage: wg.conf:2: Unknown key 'PrivateKey: <redacted>' in [Interface]; expected one of PrivateKey, Address, DNS, MTU, ListenPort, Table, FwMark, SaveConfig, PreUp, PostUp, PreDown, PostDown",
  );
  await configError(
    loadConfig(
      { config: { kind: "file", path: "wg.conf" }, flags: {} },
      fakeIo({ "wg.conf": { text: WG_CONF.replace("[Peer]", `[Peer ${PEER_B}`) } }),
    ),
    "wgcage: wg.conf:8: Section header '[Peer <redacted>' has no closing ']'",
  );
});

Deno.test("the host loader takes --config-env's variable out of the environment", async () => {
  Deno.env.set("WGC_LOAD_TEST_CONF", WG_CONF);
  const { config } = await loadConfig(
    { config: { kind: "env", name: "WGC_LOAD_TEST_CONF" }, flags: {} },
    hostLoadIo,
  );
  strictEqual(config.source, "$WGC_LOAD_TEST_CONF");
  strictEqual(Deno.env.get("WGC_LOAD_TEST_CONF"), undefined);
});

Deno.test("a variable that cannot be erased from the environment is refused, with another way in", async () => {
  const io: LoadIo = {
    ...fakeIo({}),
    takeEnv: () =>
      Promise.reject(
        new Error("Cannot erase WG_CONF from the process's original environment (errno 2)"),
      ),
  };
  await configError(
    loadConfig({ config: { kind: "env", name: "WG_CONF" }, flags: {} }, io),
    "wgcage: Cannot erase WG_CONF from the process's original environment (errno 2); pass the config with --config FILE or --config - instead",
  );
});

Deno.test("loadConfig names the files it read keys from: the config and key files, not stdin nor a variable", async () => {
  const io = fakeIo({ ...KEY_FILES, "wg.conf": { text: WG_CONF } });
  const both = await loadConfig({
    config: { kind: "file", path: "wg.conf" },
    flags: { privateKeyFile: "other.key", pskFile: "psk.key" },
  }, io);
  deepStrictEqual(both.secretFiles, ["wg.conf", "other.key", "psk.key"]);
  const flagsOnly = await loadConfig({ flags: WIRECAGE_FLAGS }, io);
  deepStrictEqual(flagsOnly.secretFiles, ["k.key"]);
  const stdin = await loadConfig(
    { config: { kind: "stdin" }, flags: {} },
    fakeIo({}, { stdin: WG_CONF }),
  );
  deepStrictEqual(stdin.secretFiles, []);
  const env = await loadConfig(
    { config: { kind: "env", name: "WG" }, flags: {} },
    fakeIo({}, { env: { WG: WG_CONF } }),
  );
  deepStrictEqual(env.secretFiles, []);
});
