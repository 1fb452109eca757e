/**
 * The one entry point for getting a tunnel config: read the source (file,
 * stdin or environment variable), parse it, lay the flags over it, check it.
 *
 * @module
 */

import type { TunnelConfig } from "./types.ts";
import { ConfigError } from "./config_error.ts";
import { type ConfigDraft, finalizeConfig } from "./draft.ts";
import {
  type ConfigFlags,
  type ConfigSource,
  type KeyFileIo,
  parseConfigFlags,
  readSecretFile,
} from "./flags.ts";
import { mergeFlags } from "./merge.ts";
import { readWgQuick } from "./wg_quick.ts";
import { MessageGuard } from "./message_guard.ts";
import { checkPeerKeys, coreKeyMath } from "./peer_keys.ts";
import { MAX_INPUT_BYTES, MAX_INPUT_SHOWN, readAtMost, readFileAtMost } from "./read_limited.ts";
import { takeEnvironmentVariable } from "../launcher/environ.ts";

/** What loading needs from the host; tests pass fakes. */
export interface LoadIo extends KeyFileIo {
  /** At most `maxBytes` bytes of standard input (fewer when it ends first). */
  readStdin(maxBytes: number): Promise<Uint8Array>;
  /**
   * An environment variable's value, which is then gone from the process's
   * environment, its original block (/proc/self/environ) included.
   */
  takeEnv(name: string): Promise<string | undefined>;
}

/** The host: real files, real stdin, the real environment. */
export const hostLoadIo: LoadIo = {
  readFile: readFileAtMost,
  readStdin(maxBytes) {
    // Reading a terminal would wait for typing that nobody expects to do.
    if (Deno.stdin.isTerminal()) return Promise.reject(new Error("stdin is a terminal"));
    return readAtMost(Deno.stdin, maxBytes);
  },
  takeEnv: takeEnvironmentVariable,
  stat(path) {
    // Synchronous, as readFileAtMost reads: an asynchronous call costs a thread hand-off.
    try {
      return Promise.resolve(Deno.statSync(path));
    } catch (e) {
      return Promise.reject(e);
    }
  },
};

/** The parts of the run options that describe the tunnel. */
export interface ConfigRequest {
  readonly config?: ConfigSource;
  readonly flags: ConfigFlags;
}

/** A checked config and every warning to print (access modes, ignored keys). */
export interface LoadedConfig {
  readonly config: TunnelConfig;
  /** All warnings, one line each, in the order found; includes `config.warnings`. */
  readonly warnings: string[];
  /**
   * The files read, as given: the config file and the key files (not stdin
   * nor a variable). They hold keys, so the cage covers them
   * (secret_files.ts).
   */
  readonly secretFiles: string[];
  /**
   * Settles once the peers' public keys were checked (peer_keys.ts): at once
   * unless the check was deferred; then it rejects with the check's
   * {@linkcode ConfigError}.
   */
  readonly peerKeysChecked: Promise<void>;
}

/** How {@linkcode loadConfig} may leave part of its work for later. */
export interface LoadOptions {
  /**
   * Check the peers' public keys once the core is compiled, without waiting
   * for it (see `peerKeysChecked`): a run's main thread has other work
   * meanwhile, and the core compiles on another thread.
   */
  readonly deferPeerKeyCheck?: boolean;
}

/** Flags whose values are paths: shown whole in messages, never taken for secrets. */
const PATH_FLAGS: readonly (keyof ConfigFlags)[] = ["privateKeyFile", "pskFile"];

/**
 * Reads, merges (defaults < file < flags) and checks the tunnel config.
 * Throws a {@linkcode ConfigError} with a one-line message naming the problem
 * and its fix. No message, error or warning, shows a key or a long value:
 * all of them pass through one {@linkcode MessageGuard} that knows every text
 * read here.
 */
export async function loadConfig(
  request: ConfigRequest,
  io: LoadIo,
  options: LoadOptions = {},
): Promise<LoadedConfig> {
  if (request.config === undefined && Object.keys(request.flags).length === 0) {
    throw new ConfigError(
      "wgcage: No config: give --config FILE, --config-env VAR or the --wg-* flags " +
        "(see 'wgcage help config')",
    );
  }
  const guard = new MessageGuard();
  for (const name of Object.keys(request.flags) as (keyof ConfigFlags)[]) {
    if (PATH_FLAGS.includes(name)) continue;
    const value = request.flags[name];
    for (const text of Array.isArray(value) ? value : [value ?? ""]) guard.addInput(text);
  }
  const secretFiles: string[] = [];
  const watched = watch(io, guard, secretFiles);
  try {
    const accessWarnings: string[] = [];
    const file = request.config === undefined
      ? undefined
      : await readSource(request.config, watched, accessWarnings);
    const flags = await parseConfigFlags(request.flags, watched, accessWarnings);
    const draft = mergeFlags(file, flags, request.flags);
    const config = finalizeConfig(draft);
    const checking = coreKeyMath().then((math) => checkPeerKeys(draft, math)).catch((e) => {
      throw guard.cleanError(e);
    });
    checking.catch(() => {});
    if (!options.deferPeerKeyCheck) await checking;
    const warnings = [...accessWarnings, ...config.warnings].map((line) => guard.clean(line));
    return {
      config: { ...config, warnings: config.warnings.map((w) => guard.clean(w)) },
      warnings,
      secretFiles,
      peerKeysChecked: checking,
    };
  } catch (error) {
    throw guard.cleanError(error);
  }
}

/** `io`, with every text it reads recorded in `guard`, and every file read in `files`. */
function watch(io: LoadIo, guard: MessageGuard, files: string[]): LoadIo {
  const record = (bytes: Uint8Array) => {
    guard.addInput(new TextDecoder().decode(bytes));
    return bytes;
  };
  return {
    readFile: (path, maxBytes) =>
      io.readFile(path, maxBytes).then((bytes) => {
        files.push(path);
        return record(bytes);
      }),
    readStdin: (maxBytes) => io.readStdin(maxBytes).then(record),
    async takeEnv(name) {
      const text = await io.takeEnv(name);
      if (text !== undefined) guard.addInput(text);
      return text;
    },
    stat: (path) => io.stat(path),
  };
}

async function readSource(
  source: ConfigSource,
  io: LoadIo,
  warnings: string[],
): Promise<ConfigDraft> {
  switch (source.kind) {
    case "file": {
      const path = await configPath(source.path, io);
      let text: string;
      try {
        text = await readSecretFile(path, "config file", io, warnings);
      } catch (e) {
        // `--config mywg` for a file that is not here: name both places looked at.
        if (path === source.path || !(e instanceof ConfigError)) throw e;
        if (!(e.cause instanceof Deno.errors.NotFound)) throw e;
        throw new ConfigError(
          `wgcage: Cannot read config file '${source.path}': no such file here, nor ` +
            `${path} (where wg-quick looks for a bare name); check the name`,
          { cause: e.cause },
        );
      }
      return readWgQuick(nonEmpty(text, `Config file '${path}' is empty`), path);
    }
    case "stdin": {
      let bytes: Uint8Array;
      try {
        bytes = await io.readStdin(MAX_INPUT_BYTES + 1);
      } catch (error) {
        throw new ConfigError(
          `wgcage: Cannot read the config from stdin: ${
            error instanceof Error ? error.message : String(error)
          }; pipe it in, e.g. wgcage --config - -- CMD < wg.conf`,
          { cause: error },
        );
      }
      if (bytes.length > MAX_INPUT_BYTES) {
        bytes.fill(0);
        throw new ConfigError(
          `wgcage: Cannot read the config from stdin: it holds over ${MAX_INPUT_SHOWN}, far more than a config; pipe in the wg-quick config itself`,
        );
      }
      const text = new TextDecoder().decode(bytes);
      bytes.fill(0);
      return readWgQuick(nonEmpty(text, "The config on stdin is empty"), "<stdin>");
    }
    case "env": {
      let text: string | undefined;
      try {
        text = await io.takeEnv(source.name);
      } catch (error) {
        // The launcher's own refusals (not built, cannot load) say what to do.
        if (error instanceof Error && "exitCode" in error) throw error;
        throw new ConfigError(
          `wgcage: ${
            error instanceof Error ? error.message : String(error)
          }; pass the config with --config FILE or --config - instead`,
          { cause: error },
        );
      }
      if (text === undefined) {
        throw new ConfigError(
          `wgcage: Environment variable ${source.name} is not set; put the config text in it (e.g. a CI secret) or use --config FILE`,
        );
      }
      if (new TextEncoder().encode(text).length > MAX_INPUT_BYTES) {
        throw new ConfigError(
          `wgcage: Environment variable ${source.name} holds over ${MAX_INPUT_SHOWN}, far more than a config; put the wg-quick config text itself in it`,
        );
      }
      const misplaced = envValueMistake(source.name, text);
      if (misplaced !== undefined) throw new ConfigError(misplaced);
      return readWgQuick(
        nonEmpty(text, `Environment variable ${source.name} is empty`),
        `$${source.name}`,
      );
    }
  }
}

/** An interface name as wg-quick takes one for /etc/wireguard/NAME.conf. */
const INTERFACE_NAME = /^[A-Za-z0-9_=+.-]{1,15}$/;

/**
 * `--config wg0`, as `wg-quick up wg0` reads it: a bare interface name that
 * is no file here means /etc/wireguard/wg0.conf. (wg-quick takes the name
 * before looking for a file; a file of that name here is kept, so that
 * `--config office` still reads ./office as it always did.)
 */
async function configPath(given: string, io: LoadIo): Promise<string> {
  if (given.includes("/") || given.endsWith(".conf") || !INTERFACE_NAME.test(given)) return given;
  try {
    await io.stat(given);
    return given;
  } catch {
    return `/etc/wireguard/${given}.conf`;
  }
}

/**
 * The error for a variable that holds what --config-env does not take: a
 * path (`WG_CONF=/etc/wireguard/wg0.conf`) or the config in base64 (as some
 * CI secrets are stored). Neither can be a wg-quick text. The message never
 * shows the value.
 */
function envValueMistake(name: string, text: string): string | undefined {
  const value = text.trim();
  const oneLine = !value.includes("\n");
  if (oneLine && (/^(\/|\.\.?\/|~\/)/.test(value) || value.endsWith(".conf"))) {
    return `wgcage: Environment variable ${name} holds a path, not the config text; ` +
      `give the file with --config FILE, or put its text in ${name} (${name}="$(cat wg0.conf)")`;
  }
  const packed = value.replace(/\s+/g, "");
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(packed) && packed.length % 4 === 0) {
    let decoded = "";
    try {
      decoded = atob(packed);
    } catch {
      return undefined;
    }
    if (/\[interface\]/i.test(decoded)) {
      return `wgcage: Environment variable ${name} holds the config in base64; decode it ` +
        `first: ${name}="$(printf %s "$${name}" | base64 -d)"`;
    }
  }
  return undefined;
}

function nonEmpty(text: string, problem: string): string {
  if (text.replace(/^\uFEFF/, "").trim() === "") {
    throw new ConfigError(
      `wgcage: ${problem}; it should hold a wg-quick config ([Interface] and [Peer])`,
    );
  }
  return text;
}
