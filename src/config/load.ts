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

/** What loading needs from the host; tests pass fakes. */
export interface LoadIo extends KeyFileIo {
  readTextFile(path: string): Promise<string>;
  /** All of standard input as text. */
  readStdin(): Promise<string>;
  env(name: string): string | undefined;
  stat(path: string): Promise<{ mode: number | null }>;
}

/** The host: real files, real stdin, the real environment. */
export const hostLoadIo: LoadIo = {
  readTextFile: (path) => Deno.readTextFile(path),
  readStdin() {
    // Reading a terminal would wait for typing that nobody expects to do.
    if (Deno.stdin.isTerminal()) return Promise.reject(new Error("stdin is a terminal"));
    return new Response(Deno.stdin.readable).text();
  },
  env: (name) => Deno.env.get(name),
  stat: (path) => Deno.stat(path),
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
}

/**
 * Reads, merges (defaults < file < flags) and checks the tunnel config.
 * Throws a {@linkcode ConfigError} with a one-line message naming the problem
 * and its fix.
 */
export async function loadConfig(request: ConfigRequest, io: LoadIo): Promise<LoadedConfig> {
  const accessWarnings: string[] = [];
  const file = request.config === undefined
    ? undefined
    : await readSource(request.config, io, accessWarnings);
  const flags = await parseConfigFlags(request.flags, io, accessWarnings);
  const config = finalizeConfig(mergeFlags(file, flags, request.flags));
  return { config, warnings: [...accessWarnings, ...config.warnings] };
}

async function readSource(
  source: ConfigSource,
  io: LoadIo,
  warnings: string[],
): Promise<ConfigDraft> {
  switch (source.kind) {
    case "file": {
      const text = await readSecretFile(source.path, "config file", io, warnings);
      return readWgQuick(nonEmpty(text, `Config file '${source.path}' is empty`), source.path);
    }
    case "stdin": {
      let text: string;
      try {
        text = await io.readStdin();
      } catch (error) {
        throw new ConfigError(
          `wgcage: Cannot read the config from stdin: ${
            error instanceof Error ? error.message : String(error)
          }; pipe it in, e.g. wgcage --config - -- CMD < wg.conf`,
          { cause: error },
        );
      }
      return readWgQuick(nonEmpty(text, "The config on stdin is empty"), "<stdin>");
    }
    case "env": {
      const text = io.env(source.name);
      if (text === undefined) {
        throw new ConfigError(
          `wgcage: Environment variable ${source.name} is not set; put the config text in it (e.g. a CI secret) or use --config FILE`,
        );
      }
      return readWgQuick(
        nonEmpty(text, `Environment variable ${source.name} is empty`),
        `$${source.name}`,
      );
    }
  }
}

function nonEmpty(text: string, problem: string): string {
  if (text.replace(/^\uFEFF/, "").trim() === "") {
    throw new ConfigError(
      `wgcage: ${problem}; it should hold a wg-quick config ([Interface] and [Peer])`,
    );
  }
  return text;
}
