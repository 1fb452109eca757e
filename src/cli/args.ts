/**
 * The command line: argv becomes a {@linkcode Command}, a discriminated union
 * that `main.ts` switches over exhaustively.
 *
 *     wgcage [options] [--] CMD [ARGS…]     run CMD in a cage
 *     wgcage genkey | pubkey | genpsk       key tools, as wg(8) has them
 *     wgcage demo [-v]                      a self-contained demonstration
 *     wgcage version | help [TOPIC]
 *
 * wgcage's options end at the first word that is not an option (or at `--`):
 * everything after it is the command's, options included. A subcommand is
 * recognised only as the very first word: once an option of the run form was
 * given, the next word is the command even when it is named like a
 * subcommand (`wgcage --config c.conf ls /tmp` runs ls), as `sudo -u x ls` and
 * `env -i ls` read their command lines.
 *
 * @module
 */

import type { ConfigFlags, ConfigSource } from "../config/flags.ts";
import { closestMatch } from "../config/did_you_mean.ts";
import {
  conflictOf,
  formatHostAddress,
  type HostServiceSpec,
  type ListenSpec,
  type LocalForwardSpec,
  parseHostService,
  parseListen,
  parseLocalForward,
  parsePublish,
  type PublishSpec,
} from "../forward/spec.ts";
import { HELP_TOPICS } from "./help_topics.ts";
import {
  isLiveSubcommand,
  LIVE_SUBCOMMANDS,
  type LiveCommand,
  type LiveSubcommand,
  parseLiveCommand,
} from "./live_args.ts";

/** What wgcage was asked to do. */
export type Command =
  | { kind: "run"; options: RunOptions; argv: string[] }
  | { kind: "genkey" }
  | { kind: "pubkey" }
  | { kind: "genpsk" }
  | { kind: "demo"; verbose: boolean }
  | { kind: "version" }
  | { kind: "help"; topic?: string }
  /** `serve` and `server` read their own options (serve/options.ts, cli/server_command.ts). */
  | { kind: "serve"; args: string[] }
  | { kind: "server"; args: string[] }
  | LiveCommand;

/** How to run a command in a cage. */
export interface RunOptions {
  /** `--config FILE`, `--config -` (stdin) or `--config-env VAR`; absent: flags only. */
  config?: ConfigSource;
  /** `--server NAME`: the config of a server added with `wgcage server add` (wgcage.ts resolves it). */
  server?: string;
  /** The `--wg-*`, `--mtu` and `--listen-port` values as typed. */
  flags: ConfigFlags;
  /** `--handshake-timeout SECONDS` in milliseconds; 10 s by default, 0 means do not wait. */
  handshakeTimeoutMs: number;
  /** `-v`, `--verbose` */
  verbose: boolean;
  /** `--root`: the command runs as uid/gid 0 of the cage. */
  root: boolean;
  /** `--no-userns` (root only): the cage gets no user namespace, so no boundary. */
  noUserns: boolean;
  /** `--hide-sockets`: cover every host unix socket, not only the name services'. */
  hideSockets: boolean;
  /** `--keep-socket PATH`, repeatable: host sockets the cage may still reach. */
  keepSockets: string[];
  /** `--die-with-parent`: wgcage ends when the process that started it ends. */
  dieWithParent?: boolean;
  /**
   * `--tun-name`; otherwise taken from a config file name (`wg0.conf` → `wg0`)
   * when that is a valid interface name, else `wg0`. Always set by
   * {@linkcode parseArgs}.
   */
  tunName?: string;
  /** `--hostname NAME`: the cage's host name. */
  hostname?: string;
  /** `-p`, `--publish`, repeatable: ports of the cage reachable on the host. */
  publish?: PublishSpec[];
  /** `--host-service`, repeatable: host TCP services reachable in the cage. */
  hostServices?: HostServiceSpec[];
  /** `-L`, repeatable: host ports relayed to tunnel addresses from inside the cage. */
  localForwards?: LocalForwardSpec[];
  /** `--socks [HOST_ADDR:]PORT`: a SOCKS5 proxy whose connections are made in the cage. */
  socks?: ListenSpec;
  /** `--socks-auth FILE`: the SOCKS proxy's `USERNAME:PASSWORD`, read from FILE. */
  socksAuthFile?: string;
  /** `--http-proxy [HOST_ADDR:]PORT`: an HTTP proxy likewise. */
  httpProxy?: ListenSpec;
}

/** A command line wgcage cannot follow; wgcage exits with status 125. */
export class UsageError extends Error {
  /** The exit status for wgcage's own failures. */
  readonly exitCode = 125;
  /** True when the whole usage text should follow the message (nothing was asked). */
  readonly showUsage: boolean;
  constructor(message: string, showUsage = false) {
    super(message);
    this.name = "UsageError";
    this.showUsage = showUsage;
  }
}

/** The default handshake timeout. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** The TUN name when neither `--tun-name` nor the config file name gives one. */
export const DEFAULT_TUN_NAME = "wg0";

const SUBCOMMANDS = [
  "genkey",
  "pubkey",
  "genpsk",
  "demo",
  "version",
  "help",
  "serve",
  "server",
] as const;
type Subcommand = typeof SUBCOMMANDS[number];

/** Every subcommand's name (`wgcage help NAME` knows each). */
export const SUBCOMMAND_NAMES: readonly (Subcommand | LiveSubcommand)[] = [
  ...LIVE_SUBCOMMANDS,
  ...SUBCOMMANDS,
];

/**
 * wgcage's own options. (They are read by hand rather than with `node:util`
 * `parseArgs`: loading Node compatibility costs ~26 ms of start-up, and the
 * scanner below already does all the checking.)
 */
const OPTIONS = {
  config: { type: "string" },
  "config-env": { type: "string" },
  server: { type: "string" },
  "wg-private-key-file": { type: "string" },
  "wg-public-key": { type: "string" },
  "wg-endpoint": { type: "string" },
  "wg-address": { type: "string", multiple: true },
  "wg-dns": { type: "string", multiple: true },
  "wg-allowed-ips": { type: "string", multiple: true },
  "wg-psk-file": { type: "string" },
  "wg-keepalive": { type: "string" },
  mtu: { type: "string" },
  "listen-port": { type: "string" },
  "handshake-timeout": { type: "string" },
  "tun-name": { type: "string" },
  hostname: { type: "string" },
  root: { type: "boolean" },
  "no-userns": { type: "boolean" },
  "hide-sockets": { type: "boolean" },
  "keep-socket": { type: "string", multiple: true },
  "die-with-parent": { type: "boolean" },
  publish: { type: "string", multiple: true, short: "p" },
  "host-service": { type: "string", multiple: true },
  "local-forward": { type: "string", multiple: true, short: "L" },
  socks: { type: "string" },
  "socks-auth": { type: "string" },
  "http-proxy": { type: "string" },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

type OptionName = keyof typeof OPTIONS;
const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[];
const SHORT_NAMES = new Map<string, OptionName>(
  OPTION_NAMES.flatMap((name) => {
    const spec: { type: string; short?: string } = OPTIONS[name];
    return spec.short === undefined ? [] : [[spec.short, name] as [string, OptionName]];
  }),
);

const HELP_HINT = "see 'wgcage help'";

/** What the parser needs to know about the host; tests give their own. */
export interface ParseHost {
  /** Whether wgcage runs as root (`--no-userns` is for root only). */
  isRoot(): boolean;
}

const THIS_HOST: ParseHost = { isRoot: () => Deno.uid() === 0 };

/** Options split from the rest of argv. */
interface Scanned {
  /** Option tokens, normalised to `--name` or `--name=value`. */
  tokens: string[];
  /** The option names in the order given. */
  names: OptionName[];
  /** argv from the first non-option word on (or after `--`). */
  rest: string[];
  /** True when `rest` came after `--` (so it is never a subcommand). */
  afterDashDash: boolean;
}

/**
 * Turns argv (without the program name) into a {@linkcode Command}. Throws a
 * {@linkcode UsageError} with one line naming the problem.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * const command = parseArgs(["--config", "wg0.conf", "--", "ip", "a"]);
 * command.kind; // "run"
 * ```
 */
export function parseArgs(argv: string[], host: ParseHost = THIS_HOST): Command {
  if (argv.length === 0) {
    throw new UsageError(
      `wgcage: No command given; run e.g. 'wgcage --config wg.conf -- ip a', or ${HELP_HINT}`,
      true,
    );
  }
  const scanned = scanOptions(argv);
  const values = parseOptionValues(scanned.tokens);
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  const first = scanned.rest[0];
  // Past --help and --version, any option given is the run form's.
  const subcommandPlace = !scanned.afterDashDash && scanned.names.length === 0;
  if (subcommandPlace && (isLiveSubcommand(first) || isSubcommand(first))) {
    const args = scanned.rest.slice(1);
    if (asksForHelp(first, args)) return { kind: "help", topic: first };
    return isLiveSubcommand(first)
      ? parseLiveCommand(first, args, host)
      : parseSubcommand(first, args);
  }
  if (scanned.rest.length === 0) {
    throw new UsageError(
      `wgcage: No command to run; put it after the options, e.g. 'wgcage --config wg.conf -- ip a'`,
    );
  }
  return { kind: "run", options: runOptions(values, host), argv: scanned.rest };
}

/**
 * The run options alone, for `wgcage up NAME [options]`: no command may
 * follow them.
 */
export function parseRunOptions(argv: string[], host: ParseHost, sub: string): RunOptions {
  const scanned = scanOptions(argv);
  if (scanned.rest.length > 0) {
    throw new UsageError(
      `wgcage: Unexpected '${scanned.rest[0]}' after '${sub}': it takes options only; ` +
        "run commands with 'wgcage exec NAME -- CMD'",
    );
  }
  const values = parseOptionValues(scanned.tokens);
  if (values.version) {
    throw new UsageError(`wgcage: --version does not apply to '${sub}'; run 'wgcage version'`);
  }
  return runOptions(values, host);
}

function isSubcommand(word: string | undefined): word is Subcommand {
  return (SUBCOMMANDS as readonly string[]).includes(word ?? "");
}

const isHelpWord = (word: string | undefined) => word === "-h" || word === "--help";

/**
 * Whether `wgcage SUB args…` asks for SUB's help: -h or --help where SUB
 * reads its own options, never among the words it passes on (a command's
 * after `exec NAME`, wg's after `wg NAME`).
 */
function asksForHelp(sub: Subcommand | LiveSubcommand, args: string[]): boolean {
  switch (sub) {
    case "up":
    case "down":
    case "ls":
    case "show":
    case "demo":
      return args.some(isHelpWord);
    case "exec":
      return isHelpWord(args[0]) || isHelpWord(args[1]);
    default:
      return isHelpWord(args[0]);
  }
}

function scanOptions(argv: string[]): Scanned {
  const tokens: string[] = [];
  const names: OptionName[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === "--") {
      return { tokens, names, rest: argv.slice(i + 1), afterDashDash: true };
    }
    if (!token.startsWith("-") || token === "-") {
      return { tokens, names, rest: argv.slice(i), afterDashDash: false };
    }
    if (!token.startsWith("--")) {
      for (let at = 1; at < token.length; at++) {
        const letter = token[at];
        const name = SHORT_NAMES.get(letter);
        if (name === undefined) throw unknownOption(at === 1 ? token : `-${letter}`);
        names.push(name);
        const spec: { type: string } = OPTIONS[name];
        if (spec.type === "boolean") {
          tokens.push(`--${name}`);
          continue;
        }
        // `-p VALUE` or `-pVALUE`: the rest of the word, else the next one.
        let value = token.slice(at + 1);
        if (value === "") {
          if (i + 1 >= argv.length) {
            throw new UsageError(`wgcage: -${letter} needs a value; ${HELP_HINT}`);
          }
          value = argv[++i];
        }
        if (value === "") throw new UsageError(`wgcage: -${letter} needs a value; ${HELP_HINT}`);
        tokens.push(`--${name}=${value}`);
        break;
      }
      continue;
    }
    const equals = token.indexOf("=");
    const written = equals < 0 ? token.slice(2) : token.slice(2, equals);
    const name = OPTION_NAMES.find((candidate) => candidate === written);
    if (name === undefined) throw unknownOption(`--${written}`);
    const spec: { type: string; multiple?: boolean } = OPTIONS[name];
    if (spec.type === "boolean") {
      if (equals >= 0) throw new UsageError(`wgcage: --${name} takes no value; ${HELP_HINT}`);
      tokens.push(`--${name}`);
    } else {
      let value: string;
      if (equals >= 0) {
        value = token.slice(equals + 1);
      } else if (i + 1 < argv.length) {
        value = argv[++i];
      } else {
        throw new UsageError(`wgcage: --${name} needs a value; ${HELP_HINT}`);
      }
      if (value === "") throw new UsageError(`wgcage: --${name} needs a value; ${HELP_HINT}`);
      if (names.includes(name) && !spec.multiple) {
        throw new UsageError(`wgcage: --${name} is given twice; give it once`);
      }
      tokens.push(`--${name}=${value}`);
    }
    names.push(name);
  }
  return { tokens, names, rest: [], afterDashDash: false };
}

function unknownOption(written: string): UsageError {
  // `-config`: one dash for a long option (as some tools take them) is read as
  // short options; the long one it resembles is the likely meaning.
  const long = written.startsWith("--")
    ? written.slice(2)
    : written.length > 2
    ? written.slice(1).split("=")[0]
    : undefined;
  const guess = long === undefined ? undefined : suggestOption(long);
  const hint = guess !== undefined
    ? `did you mean '--${guess}'?`
    : `to run a command that starts with '-', put it after '--'; ${HELP_HINT}`;
  return new UsageError(`wgcage: Unknown option '${written}'; ${hint}`);
}

/** An option the user probably meant: one the text begins, or a near spelling. */
function suggestOption(written: string): OptionName | undefined {
  const extensions = OPTION_NAMES.filter((name) => written.length >= 3 && name.startsWith(written));
  return extensions.length === 1 ? extensions[0] : closestMatch(written, OPTION_NAMES);
}

function parseSubcommand(name: Subcommand, args: string[]): Command {
  switch (name) {
    case "demo": {
      for (const arg of args) {
        if (arg !== "-v" && arg !== "--verbose") {
          throw new UsageError(
            `wgcage: Unexpected '${arg}' after 'demo'; the only option is -v (verbose)`,
          );
        }
      }
      return { kind: "demo", verbose: args.length > 0 };
    }
    case "help": {
      if (args.length > 1) {
        throw new UsageError(`wgcage: 'help' takes one topic at most; ${HELP_HINT}`);
      }
      const topic = args[0];
      if (topic === undefined) return { kind: "help" };
      const topics = [...HELP_TOPICS, ...SUBCOMMAND_NAMES];
      if (!(topics as readonly string[]).includes(topic)) {
        const guess = closestMatch(topic, topics);
        throw new UsageError(
          `wgcage: No help topic '${topic}'; ${
            guess
              ? `did you mean '${guess}'?`
              : `topics are ${HELP_TOPICS.join(", ")}, or a subcommand`
          }`,
        );
      }
      return { kind: "help", topic };
    }
    case "serve":
    case "server":
      return { kind: name, args };
    default:
      if (args.length > 0) {
        throw new UsageError(
          `wgcage: '${name}' takes no arguments${
            name === "pubkey" ? " (it reads the private key on stdin)" : ""
          }; run 'wgcage ${name}'`,
        );
      }
      return { kind: name };
  }
}

/** Types and collects the (already checked) option tokens. */
type OptionValues = {
  [K in OptionName]?: (typeof OPTIONS)[K] extends { type: "boolean" } ? boolean
    : (typeof OPTIONS)[K] extends { multiple: true } ? string[]
    : string;
};

/** Reads the scanner's normalised tokens (`--name` or `--name=value`). */
function parseOptionValues(tokens: string[]): OptionValues {
  const values: Record<string, string | string[] | boolean> = {};
  for (const token of tokens) {
    const equals = token.indexOf("=");
    const name = (equals < 0 ? token.slice(2) : token.slice(2, equals)) as OptionName;
    const spec: { type: string; multiple?: boolean } = OPTIONS[name];
    if (spec.type === "boolean") {
      values[name] = true;
    } else if (spec.multiple) {
      const list = (values[name] ??= []) as string[];
      list.push(token.slice(equals + 1));
    } else {
      values[name] = token.slice(equals + 1);
    }
  }
  return values as OptionValues;
}

function runOptions(values: OptionValues, host: ParseHost): RunOptions {
  if (values.config !== undefined && values["config-env"] !== undefined) {
    throw new UsageError("wgcage: Use either --config or --config-env, not both");
  }
  let config: ConfigSource | undefined;
  if (values.config !== undefined) {
    config = values.config === "-" ? { kind: "stdin" } : { kind: "file", path: values.config };
  } else if (values["config-env"] !== undefined) {
    const name = values["config-env"];
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new UsageError(
        `wgcage: --config-env '${name}' is not an environment variable name; give the name without '$', e.g. --config-env WG_CONF`,
      );
    }
    config = { kind: "env", name };
  }
  const flags: ConfigFlags = {};
  const set = <K extends keyof ConfigFlags>(key: K, value: ConfigFlags[K] | undefined) => {
    if (value !== undefined) flags[key] = value;
  };
  set("privateKeyFile", values["wg-private-key-file"]);
  set("publicKey", values["wg-public-key"]);
  set("endpoint", values["wg-endpoint"]);
  set("addresses", values["wg-address"]);
  set("dns", values["wg-dns"]);
  set("allowedIps", values["wg-allowed-ips"]);
  set("pskFile", values["wg-psk-file"]);
  set("keepalive", values["wg-keepalive"]);
  set("mtu", values.mtu);
  set("listenPort", values["listen-port"]);
  const options: RunOptions = {
    flags,
    handshakeTimeoutMs: handshakeTimeout(values["handshake-timeout"]),
    verbose: values.verbose ?? false,
    root: values.root ?? false,
    noUserns: noUserns(values["no-userns"] ?? false, host),
    hideSockets: values["hide-sockets"] ?? false,
    keepSockets: values["keep-socket"] ?? [],
    tunName: values["tun-name"] === undefined
      ? defaultTunName(config)
      : checkedTunName(values["tun-name"]),
  };
  if (config !== undefined) options.config = config;
  if (values.server !== undefined) {
    if (config !== undefined) {
      throw new UsageError("wgcage: Use either --server or --config/--config-env, not both");
    }
    options.server = values.server;
  }
  if (values.hostname !== undefined) options.hostname = checkedHostname(values.hostname);
  if (values["die-with-parent"]) options.dieWithParent = true;
  addForwards(options, values, host);
  addHostPrograms(options, values);
  return options;
}

const LOCAL_FORWARD_FORM =
  "[HOST_ADDR:]HOST_PORT:TUNNEL_HOST:PORT[/tcp|/udp], e.g. -L 15432:10.0.0.5:5432";

/** `parser`'s result for an option's value, or a usage error with its reason and `form`. */
function parse<T>(text: string, option: string, form: string, parser: (t: string) => T): T {
  try {
    return parser(text);
  } catch (e) {
    throw new UsageError(
      `wgcage: ${option} '${text}' is not valid: ${(e as Error).message} (${form})`,
    );
  }
}

/** `-L`, `--socks` and `--http-proxy`: the tunnel for programs that stay on the host. */
function addHostPrograms(options: RunOptions, values: OptionValues): void {
  const local = (values["local-forward"] ?? []).map((t) =>
    parse(t, "-L", LOCAL_FORWARD_FORM, parseLocalForward)
  );
  if (local.length > 0) options.localForwards = local;
  if (values.socks !== undefined) {
    options.socks = parse(
      values.socks,
      "--socks",
      "[HOST_ADDR:]PORT, e.g. --socks 1080",
      parseListen,
    );
  }
  if (values["socks-auth"] !== undefined) {
    if (options.socks === undefined) {
      throw new UsageError(
        "wgcage: --socks-auth is the --socks proxy's login; give --socks [HOST_ADDR:]PORT too",
      );
    }
    options.socksAuthFile = values["socks-auth"];
  }
  if (values["http-proxy"] !== undefined) {
    options.httpProxy = parse(
      values["http-proxy"],
      "--http-proxy",
      "[HOST_ADDR:]PORT, e.g. --http-proxy 8118",
      parseListen,
    );
  }
}

const PUBLISH_FORM = "[HOST_ADDR:]HOST_PORT:CAGE_PORT[/tcp|/udp], e.g. -p 8080:80";
const HOST_SERVICE_FORM = "[HOST_ADDR:]PORT[=CAGE_PORT], e.g. --host-service 127.0.0.1:5432";

/** `-p` and `--host-service`, checked one by one and together. */
function addForwards(options: RunOptions, values: OptionValues, host: ParseHost): void {
  const publish = (values.publish ?? []).map((t) => parse(t, "-p", PUBLISH_FORM, parsePublish));
  const services = (values["host-service"] ?? []).map((t) =>
    parse(t, "--host-service", HOST_SERVICE_FORM, parseHostService)
  );
  const conflict = conflictOf(publish, services);
  if (conflict !== undefined) throw new UsageError(`wgcage: ${conflict}`);
  // The cage's socket service runs as the command's user: a port below 1024
  // of the cage's own needs uid 0 there.
  const low = services.find((s) => s.cagePort < 1024);
  if (low !== undefined && !options.root && !host.isRoot()) {
    throw new UsageError(
      `wgcage: --host-service cage port ${low.cagePort} is below 1024, which needs --root in the ` +
        `cage; give one of 1024 or above, e.g. --host-service ${
          formatHostAddress(low.hostAddress)
        }:${low.hostPort}=${low.cagePort + 8000}`,
    );
  }
  if (publish.length > 0) options.publish = publish;
  if (services.length > 0) options.hostServices = services;
}

function noUserns(given: boolean, host: ParseHost): boolean {
  if (given && !host.isRoot()) {
    throw new UsageError(
      "wgcage: --no-userns is for root only: without root the cage always gets a user namespace " +
        "of its own; leave it out",
    );
  }
  return given;
}

function handshakeTimeout(text: string | undefined): number {
  if (text === undefined) return DEFAULT_HANDSHAKE_TIMEOUT_MS;
  if (!/^[0-9]{1,4}(\.[0-9]{1,3})?$/.test(text) || Number(text) > 3600) {
    throw new UsageError(
      `wgcage: --handshake-timeout '${text}' is not valid; give seconds 0..3600, e.g. 10 (0: do not wait)`,
    );
  }
  return Math.round(Number(text) * 1000);
}

const TUN_NAME = /^[A-Za-z0-9_=+.-]{1,15}$/;

/** True when `name` is a valid Linux interface name (as `wg-quick` checks it). */
export function isValidTunName(name: string): boolean {
  return TUN_NAME.test(name) && name !== "." && name !== "..";
}

/**
 * The TUN name a config source implies: `/etc/wireguard/wg1.conf` → `wg1`,
 * as wg-quick names interfaces; `wg0` otherwise.
 */
export function defaultTunName(config: ConfigSource | undefined): string {
  if (config?.kind !== "file") return DEFAULT_TUN_NAME;
  const base = config.path.slice(config.path.lastIndexOf("/") + 1).replace(/\.conf$/, "");
  return isValidTunName(base) ? base : DEFAULT_TUN_NAME;
}

function checkedTunName(name: string): string {
  if (!isValidTunName(name)) {
    throw new UsageError(
      `wgcage: --tun-name '${name}' is not a valid interface name; use 1-15 letters, digits or _=+.- (e.g. wg0)`,
    );
  }
  return name;
}

const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/;

function checkedHostname(name: string): string {
  if (name.length > 64 || !name.split(".").every((label) => HOST_LABEL.test(label))) {
    throw new UsageError(
      `wgcage: --hostname '${name}' is not a valid host name; use up to 64 letters, digits, '-' and '.', e.g. cage`,
    );
  }
  return name;
}
