import { deepStrictEqual, match, strictEqual, throws } from "node:assert";
import { type Command, defaultTunName, parseArgs, type ParseHost, UsageError } from "./args.ts";
import { HELP_TOPICS, helpText, USAGE } from "./usage.ts";

const PEER = "WLBgRfhkm5RRLUKzqZn6H5Iaojwov27AJdgR1sBO1k4=";

/** The parser's view of the host: not root, unless a test says so. */
const ROOTLESS: ParseHost = { isRoot: () => false };
const ROOT: ParseHost = { isRoot: () => true };

function run(argv: string[], host = ROOTLESS): Extract<Command, { kind: "run" }> {
  const command = parseArgs(argv, host);
  if (command.kind !== "run") throw new Error(`expected a run command, got ${command.kind}`);
  return command;
}

Deno.test("parseArgs runs the command after '--' with a config file", () => {
  deepStrictEqual(parseArgs(["--config", "wg.conf", "--", "ip", "a"], ROOTLESS), {
    kind: "run",
    options: {
      config: { kind: "file", path: "wg.conf" },
      flags: {},
      handshakeTimeoutMs: 10_000,
      verbose: false,
      root: false,
      noUserns: false,
      hideSockets: false,
      keepSockets: [],
      tunName: "wg",
    },
    argv: ["ip", "a"],
  });
});

Deno.test("parseArgs takes the command without '--'; its options stay its own", () => {
  const command = run(["-v", "--config=wg1.conf", "curl", "-v", "--config", "x", "--", "y"]);
  deepStrictEqual(command.argv, ["curl", "-v", "--config", "x", "--", "y"]);
  strictEqual(command.options.verbose, true);
  deepStrictEqual(command.options.config, { kind: "file", path: "wg1.conf" });
  strictEqual(command.options.tunName, "wg1");
});

Deno.test("parseArgs needs '--' before a command that starts with '-', and keeps a second '--'", () => {
  deepStrictEqual(run(["--config", "a.conf", "--", "-weird", "--", "x"]).argv, [
    "-weird",
    "--",
    "x",
  ]);
  throws(
    () => parseArgs(["--config", "a.conf", "-weird"]),
    {
      message:
        "wgcage: Unknown option '-weird'; to run a command that starts with '-', put it after '--'; see 'wgcage help'",
    },
  );
});

Deno.test("parseArgs reads the config sources: file, stdin, environment variable", () => {
  deepStrictEqual(run(["--config", "-", "true"]).options.config, { kind: "stdin" });
  deepStrictEqual(run(["--config-env", "WG_CONF", "npm", "test"]).options.config, {
    kind: "env",
    name: "WG_CONF",
  });
  strictEqual(run(["--config-env", "WG_CONF", "true"]).options.tunName, "wg0");
  strictEqual(run(["--config", "-", "true"]).options.tunName, "wg0");
  strictEqual(run(["--wg-address", "10.0.0.2", "true"]).options.config, undefined);
});

Deno.test("parseArgs collects the wirecage flag set and the other tunnel flags", () => {
  const command = run([
    "--wg-private-key-file",
    "k.key",
    "--wg-public-key",
    PEER,
    "--wg-endpoint",
    "vpn.example.com:51820",
    "--wg-address",
    "10.0.0.2/32",
    "--wg-address=fd00::2/128",
    "--wg-dns",
    "10.0.0.1,corp.example",
    "--wg-dns",
    "fd00::1",
    "--wg-allowed-ips",
    "10.0.0.0/8",
    "--wg-psk-file",
    "psk.key",
    "--wg-keepalive",
    "25",
    "--mtu",
    "1380",
    "--listen-port",
    "51820",
    "--",
    "curl",
    "https://example.com",
  ]);
  deepStrictEqual(command.options.flags, {
    privateKeyFile: "k.key",
    publicKey: PEER,
    endpoint: "vpn.example.com:51820",
    addresses: ["10.0.0.2/32", "fd00::2/128"],
    dns: ["10.0.0.1,corp.example", "fd00::1"],
    allowedIps: ["10.0.0.0/8"],
    pskFile: "psk.key",
    keepalive: "25",
    mtu: "1380",
    listenPort: "51820",
  });
  deepStrictEqual(command.argv, ["curl", "https://example.com"]);
});

Deno.test("parseArgs reads the cage options", () => {
  const { options } = run([
    "--handshake-timeout",
    "2.5",
    "--tun-name",
    "tun.0",
    "--hostname",
    "box.lan",
    "--root",
    "-v",
    "sh",
  ]);
  strictEqual(options.handshakeTimeoutMs, 2500);
  strictEqual(options.tunName, "tun.0");
  strictEqual(options.hostname, "box.lan");
  strictEqual(options.root, true);
  strictEqual(options.verbose, true);
  strictEqual(run(["--handshake-timeout=0", "sh"]).options.handshakeTimeoutMs, 0);
});

Deno.test("parseArgs reads the host socket options; --keep-socket repeats", () => {
  const { options } = run([
    "--hide-sockets",
    "--keep-socket",
    "/run/user/1000/bus",
    "--keep-socket=/tmp/.X11-unix/X0",
    "sh",
  ]);
  strictEqual(options.hideSockets, true);
  deepStrictEqual(options.keepSockets, ["/run/user/1000/bus", "/tmp/.X11-unix/X0"]);
  // Without --hide-sockets a kept socket is still taken (only the defaults are hidden then).
  deepStrictEqual(run(["--keep-socket", "agent.sock", "sh"]).options.keepSockets, ["agent.sock"]);
  strictEqual(run(["sh"]).options.hideSockets, false);
});

Deno.test("parseArgs takes --no-userns as root, and refuses it otherwise", () => {
  strictEqual(run(["--no-userns", "sh"], ROOT).options.noUserns, true);
  strictEqual(run(["sh"], ROOT).options.noUserns, false);
  throws(() => parseArgs(["--no-userns", "sh"], ROOTLESS), {
    message: "wgcage: --no-userns is for root only: without root the cage always gets a user " +
      "namespace of its own; leave it out",
  });
  // Asked only when the option is given.
  const asked: string[] = [];
  parseArgs(["sh"], { isRoot: () => (asked.push("isRoot"), false) });
  deepStrictEqual(asked, []);
});

Deno.test("parseArgs passes values that start with '-' to value-taking options", () => {
  strictEqual(run(["--tun-name", "-x", "sh"]).options.tunName, "-x");
});

Deno.test("parseArgs recognises the subcommands", () => {
  deepStrictEqual(parseArgs(["genkey"]), { kind: "genkey" });
  deepStrictEqual(parseArgs(["pubkey"]), { kind: "pubkey" });
  deepStrictEqual(parseArgs(["genpsk"]), { kind: "genpsk" });
  deepStrictEqual(parseArgs(["demo"]), { kind: "demo", verbose: false });
  deepStrictEqual(parseArgs(["demo", "-v"]), { kind: "demo", verbose: true });
  deepStrictEqual(parseArgs(["version"]), { kind: "version" });
  deepStrictEqual(parseArgs(["--version"]), { kind: "version" });
  deepStrictEqual(parseArgs(["-V"]), { kind: "version" });
  deepStrictEqual(parseArgs(["help"]), { kind: "help" });
  deepStrictEqual(parseArgs(["help", "config"]), { kind: "help", topic: "config" });
  deepStrictEqual(parseArgs(["--help"]), { kind: "help" });
  deepStrictEqual(parseArgs(["-h"]), { kind: "help" });
  deepStrictEqual(parseArgs(["--config", "wg.conf", "--help", "ip"]), { kind: "help" });
});

Deno.test("parseArgs runs a program named like a subcommand when it follows '--'", () => {
  deepStrictEqual(run(["--config", "wg.conf", "--", "help"]).argv, ["help"]);
});

Deno.test("parseArgs: after an option of the run form, a word named like a subcommand is the command", () => {
  for (const sub of ["ls", "show", "up", "exec", "version", "wg", "genkey", "demo", "help"]) {
    deepStrictEqual(run(["--config", "c.conf", sub, "/tmp"]).argv, [sub, "/tmp"]);
  }
  deepStrictEqual(run(["-v", "demo"]).argv, ["demo"]);
  deepStrictEqual(run(["--root", "demo"]).argv, ["demo"]);
});

Deno.test("parseArgs: each subcommand's help, by 'help NAME' and by -h/--help after it", () => {
  for (const sub of ["up", "exec", "down", "ls", "show", "set", "syncconf", "wg"]) {
    deepStrictEqual(parseArgs([sub, "--help"]), { kind: "help", topic: sub });
    deepStrictEqual(parseArgs(["help", sub]), { kind: "help", topic: sub });
  }
  for (const sub of ["genkey", "pubkey", "genpsk", "demo", "version", "help"]) {
    deepStrictEqual(parseArgs([sub, "-h"]), { kind: "help", topic: sub });
  }
  deepStrictEqual(parseArgs(["up", "ci", "--config", "c.conf", "--help"]), {
    kind: "help",
    topic: "up",
  });
  deepStrictEqual(parseArgs(["exec", "ci", "--help"]), { kind: "help", topic: "exec" });
  // The command's and wg's own --help are theirs.
  deepStrictEqual(parseArgs(["exec", "ci", "--", "ls", "--help"]), {
    kind: "exec",
    name: "ci",
    argv: ["ls", "--help"],
    verbose: false,
  });
  deepStrictEqual(parseArgs(["wg", "ci", "show", "--help"]), {
    kind: "wg",
    name: "ci",
    args: ["show", "--help"],
  });
  for (const topic of [...HELP_TOPICS, "up", "exec", "genkey"]) {
    strictEqual(typeof helpText(topic), "string", topic);
  }
  match(helpText("up")!, /^Usage: wgcage up NAME/);
});

/** Every usage error, with its exact message. */
const ERRORS: [string[], string][] = [
  [
    ["--config", "wg.conf"],
    "wgcage: No command to run; put it after the options, e.g. 'wgcage --config wg.conf -- ip a'",
  ],
  [
    ["--config", "wg.conf", "--"],
    "wgcage: No command to run; put it after the options, e.g. 'wgcage --config wg.conf -- ip a'",
  ],
  [
    ["--wg-endpiont", "x:1", "sh"],
    "wgcage: Unknown option '--wg-endpiont'; did you mean '--wg-endpoint'?",
  ],
  [
    ["--wg-private-key", "k", "sh"],
    "wgcage: Unknown option '--wg-private-key'; did you mean '--wg-private-key-file'?",
  ],
  [
    ["--frobnicate", "sh"],
    "wgcage: Unknown option '--frobnicate'; to run a command that starts with '-', put it after '--'; see 'wgcage help'",
  ],
  [
    ["-q", "sh"],
    "wgcage: Unknown option '-q'; to run a command that starts with '-', put it after '--'; see 'wgcage help'",
  ],
  [["--config"], "wgcage: --config needs a value; see 'wgcage help'"],
  [["--root=yes", "sh"], "wgcage: --root takes no value; see 'wgcage help'"],
  [["--hide-sockets=all", "sh"], "wgcage: --hide-sockets takes no value; see 'wgcage help'"],
  [["--keep-socket"], "wgcage: --keep-socket needs a value; see 'wgcage help'"],
  [["--keep-socket=", "sh"], "wgcage: --keep-socket needs a value; see 'wgcage help'"],
  [
    ["--hide-socket", "sh"],
    "wgcage: Unknown option '--hide-socket'; did you mean '--hide-sockets'?",
  ],
  [["-config", "wg.conf", "sh"], "wgcage: Unknown option '-config'; did you mean '--config'?"],
  [
    ["-wg-endpoint=x:1", "sh"],
    "wgcage: Unknown option '-wg-endpoint=x:1'; did you mean '--wg-endpoint'?",
  ],
  [
    ["exec", "ci", "-p", "8080:80", "--", "sh"],
    "wgcage: 'exec' takes no options ('-p'): options such as -p belong to 'wgcage up ci …'; the command follows the name, or '--' for one that starts with '-': 'wgcage exec ci -- CMD'",
  ],
  [
    ["up", "wg0.conf"],
    "wgcage: 'up' takes the cage's name, then the config: 'wgcage up wg0 --config wg0.conf'",
  ],
  [
    ["up", "/etc/wireguard/office.conf", "-d"],
    "wgcage: 'up' takes the cage's name, then the config: 'wgcage up office --config /etc/wireguard/office.conf'",
  ],
  [["--config", "a", "--config", "b", "sh"], "wgcage: --config is given twice; give it once"],
  [
    ["--config", "a", "--config-env", "B", "sh"],
    "wgcage: Use either --config or --config-env, not both",
  ],
  [["--config=", "sh"], "wgcage: --config needs a value; see 'wgcage help'"],
  [["--wg-address", "", "sh"], "wgcage: --wg-address needs a value; see 'wgcage help'"],
  [
    ["--config-env", "$WG_CONF", "sh"],
    "wgcage: --config-env '$WG_CONF' is not an environment variable name; give the name without '$', e.g. --config-env WG_CONF",
  ],
  [
    ["--handshake-timeout", "soon", "sh"],
    "wgcage: --handshake-timeout 'soon' is not valid; give seconds 0..3600, e.g. 10 (0: do not wait)",
  ],
  [
    ["--handshake-timeout", "3601", "sh"],
    "wgcage: --handshake-timeout '3601' is not valid; give seconds 0..3600, e.g. 10 (0: do not wait)",
  ],
  [
    ["--tun-name", "a-name-far-too-long", "sh"],
    "wgcage: --tun-name 'a-name-far-too-long' is not a valid interface name; use 1-15 letters, digits or _=+.- (e.g. wg0)",
  ],
  [
    ["--tun-name", "wg/0", "sh"],
    "wgcage: --tun-name 'wg/0' is not a valid interface name; use 1-15 letters, digits or _=+.- (e.g. wg0)",
  ],
  [
    ["--hostname", "bad_name", "sh"],
    "wgcage: --hostname 'bad_name' is not a valid host name; use up to 64 letters, digits, '-' and '.', e.g. cage",
  ],
  [["genkey", "extra"], "wgcage: 'genkey' takes no arguments; run 'wgcage genkey'"],
  [
    ["pubkey", "key"],
    "wgcage: 'pubkey' takes no arguments (it reads the private key on stdin); run 'wgcage pubkey'",
  ],
  [["demo", "--fast"], "wgcage: Unexpected '--fast' after 'demo'; the only option is -v (verbose)"],
  [["help", "confg"], "wgcage: No help topic 'confg'; did you mean 'config'?"],
  [
    ["help", "everything"],
    "wgcage: No help topic 'everything'; topics are config, exit, cage, ports, live, or a subcommand",
  ],
  [["help", "cgae"], "wgcage: No help topic 'cgae'; did you mean 'cage'?"],
  [["help", "config", "exit"], "wgcage: 'help' takes one topic at most; see 'wgcage help'"],
];

Deno.test("parseArgs refuses bad command lines with one line naming the problem", async (t) => {
  for (const [argv, message] of ERRORS) {
    await t.step(argv.join(" "), () => {
      throws(() => parseArgs(argv, ROOTLESS), (error: unknown) => {
        if (!(error instanceof UsageError)) throw error;
        strictEqual(error.message, message);
        strictEqual(error.exitCode, 125);
        strictEqual(error.showUsage, false);
        strictEqual(error.message.includes("\n"), false);
        return true;
      });
    });
  }
});

Deno.test("parseArgs with no arguments asks for the usage text to follow", () => {
  throws(() => parseArgs([]), (error: unknown) => {
    if (!(error instanceof UsageError)) throw error;
    strictEqual(error.showUsage, true);
    strictEqual(
      error.message,
      "wgcage: No command given; run e.g. 'wgcage --config wg.conf -- ip a', or see 'wgcage help'",
    );
    return true;
  });
});

Deno.test("defaultTunName takes a valid config file name, else wg0", () => {
  strictEqual(defaultTunName({ kind: "file", path: "/etc/wireguard/wg1.conf" }), "wg1");
  strictEqual(defaultTunName({ kind: "file", path: "office" }), "office");
  strictEqual(defaultTunName({ kind: "file", path: "my office vpn.conf" }), "wg0");
  strictEqual(defaultTunName({ kind: "file", path: "a-very-long-interface.conf" }), "wg0");
  strictEqual(defaultTunName({ kind: "file", path: "dir/.conf" }), "wg0");
  strictEqual(defaultTunName(undefined), "wg0");
});

Deno.test("the usage text shows both examples, every option and the exit statuses", () => {
  for (
    const text of ["wgcage --config wg.conf -- ip a", "wgcage --config-env WG_CONF -- npm test"]
  ) {
    strictEqual(USAGE.includes(text), true, text);
  }
  const options = [
    "--config",
    "--config-env",
    "--wg-private-key-file",
    "--wg-public-key",
    "--wg-endpoint",
    "--wg-address",
    "--wg-dns",
    "--wg-allowed-ips",
    "--wg-psk-file",
    "--wg-keepalive",
    "--mtu",
    "--listen-port",
    "--handshake-timeout",
    "--tun-name",
    "--hostname",
    "--root",
    "--no-userns",
    "--hide-sockets",
    "--keep-socket",
    "--verbose",
    "--help",
    "--version",
  ];
  for (const option of options) strictEqual(USAGE.includes(`${option} `), true, option);
  for (const status of ["125", "126", "127"]) strictEqual(USAGE.includes(status), true, status);
});

Deno.test("the help says what --root and --no-userns give, and what the cage hides", () => {
  const usage = USAGE.replace(/\s+/g, " ");
  for (
    const text of [
      "--root run CMD as uid/gid 0 of the cage, with capabilities only over the cage's own namespaces",
      "--no-userns as root only, and NO BOUNDARY",
      "CMD keeps root's capabilities over the host and can leave the cage",
      "a container's seccomp profile",
    ]
  ) strictEqual(usage.includes(text), true, text);
  const cage = helpText("cage")!.replace(/\s+/g, " ");
  for (
    const text of [
      "CMD runs as uid/gid 0 of the cage, with capabilities only over the cage's own namespaces",
      "Rootless, the files it makes on the host belong to you",
      "and under sudo too (uid 0 of the cage is you on the shared file system)",
      "as root without sudo, every id maps to itself and uid 0 is the host's root there",
      "no CAP_SYS_PTRACE, so it cannot take over the cage's init",
      "no_new_privs holds: setuid programs cannot raise it",
      "It has no CAP_SYS_ADMIN, so it cannot undo the cage's mounts",
      "a daemon restarting meanwhile stays hidden",
      "NO BOUNDARY",
      "nscd",
      "systemd-resolved",
      "abstract unix sockets are out of reach",
      "--keep-socket PATH",
    ]
  ) strictEqual(cage.includes(text), true, text);
});

Deno.test("helpText has a text for every topic the parser accepts", () => {
  strictEqual(helpText(), USAGE);
  for (const topic of HELP_TOPICS) strictEqual(typeof helpText(topic), "string", topic);
  strictEqual(helpText("nonsense"), undefined);
});

Deno.test("every help text fits in 80 columns", () => {
  for (const topic of [undefined, ...HELP_TOPICS]) {
    for (const line of helpText(topic)!.split("\n")) strictEqual(line.length <= 80, true, line);
  }
});

Deno.test("parseArgs takes -p/--publish (repeatable, -pVALUE and -vp VALUE too) and --host-service", () => {
  const command = run([
    "-p",
    "8080:80",
    "--publish=127.0.0.1:5353:53/udp",
    "-p[::1]:8443:443",
    "-vp",
    "9000:9000",
    "--host-service",
    "127.0.0.1:5432=15432",
    "--",
    "server",
  ]);
  strictEqual(command.options.verbose, true);
  deepStrictEqual(
    command.options.publish?.map((p) => [p.protocol, p.hostPort, p.cagePort, p.hostAddress.family]),
    [["tcp", 8080, 80, 4], ["udp", 5353, 53, 4], ["tcp", 8443, 443, 6], ["tcp", 9000, 9000, 4]],
  );
  deepStrictEqual(
    command.options.hostServices?.map((s) => [s.hostPort, s.cagePort]),
    [[5432, 15432]],
  );
  deepStrictEqual(command.argv, ["server"]);
  strictEqual(run(["true"]).options.publish, undefined, "nothing published unless asked");
  strictEqual(run(["true"]).options.hostServices, undefined, "no host service unless asked");
});

Deno.test("parseArgs refuses a malformed -p or --host-service in one line that names it and the form", () => {
  const table: [string[], string][] = [
    [
      ["-p", "70000:80", "x"],
      "wgcage: -p '70000:80' is not valid: host port 70000 is out of range; give 1-65535 " +
      "([HOST_ADDR:]HOST_PORT:CAGE_PORT[/tcp|/udp], e.g. -p 8080:80)",
    ],
    [["-p"], "wgcage: -p needs a value; see 'wgcage help'"],
    [
      ["--host-service", "db:5432", "x"],
      "wgcage: --host-service 'db:5432' is not valid: 'db' is not an IP address (expected 4 " +
      "dot-separated numbers, found 1); give one such as 127.0.0.1 or [::1] " +
      "([HOST_ADDR:]PORT[=CAGE_PORT], e.g. --host-service 127.0.0.1:5432)",
    ],
    [
      ["-p", "1:2", "-p", "127.0.0.1:1:3", "x"],
      "wgcage: -p 127.0.0.1:1/tcp is given twice; publish each host port once",
    ],
  ];
  for (const [argv, message] of table) {
    throws(() => parseArgs(argv, ROOTLESS), (e: unknown) => {
      strictEqual(e instanceof UsageError && e.exitCode, 125);
      strictEqual((e as Error).message, message);
      return true;
    });
  }
});

Deno.test("parseArgs refuses a --host-service cage port below 1024 without root or --root", () => {
  throws(
    () => parseArgs(["--host-service", "127.0.0.1:80", "x"], ROOTLESS),
    {
      message:
        "wgcage: --host-service cage port 80 is below 1024, which needs --root in the cage; " +
        "give one of 1024 or above, e.g. --host-service 127.0.0.1:80=8080",
    },
  );
  strictEqual(
    run(["--root", "--host-service", "127.0.0.1:80", "x"]).options.hostServices?.length,
    1,
  );
  strictEqual(run(["--host-service", "127.0.0.1:80", "x"], ROOT).options.hostServices?.length, 1);
});
