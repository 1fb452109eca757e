/**
 * What the system `wg` would read, read and checked by wgcage first: the key
 * files of `wg set` (`private-key FILE`, `preshared-key FILE`), its peer keys,
 * and the config file of `syncconf`/`setconf`/`addconf`. `wg` quotes a
 * malformed key back whole or all but one character; wgcage refuses it in
 * one line that shows none of it, before `wg` runs. Every text read goes into
 * a {@linkcode MessageGuard}, which later cleans whatever `wg` itself says.
 *
 * A key or config that is not a regular file (`/dev/stdin`, a pipe, a
 * process substitution) can be read once only: wgcage reads it and hands
 * `wg` the same text on its standard input, as `/dev/stdin`.
 *
 * @module
 */

import { MessageGuard } from "../config/message_guard.ts";
import { readSecretFile } from "../config/flags.ts";
import { hostLoadIo } from "../config/load.ts";
import { readWgQuick } from "../config/wg_quick.ts";
import { type KeyKind, parseKeyValue } from "../config/values.ts";
import { LiveError } from "../live/error.ts";

/** wg-quick's own keys, which `wg` does not take (left out of what it reads). */
const QUICK_ONLY = /^\s*(Address|DNS|MTU|Table|PreUp|PostUp|PreDown|PostDown|SaveConfig)\s*=/i;

/** `wg`'s arguments with their inputs checked, and what to give it on stdin. */
export interface WgInput {
  readonly args: string[];
  /** Text for `wg`'s standard input (a file it reads as /dev/stdin), if any. */
  readonly stdin?: string;
  /** Knows every text read, for cleaning `wg`'s messages. */
  readonly guard: MessageGuard;
  /** Warnings (files others may read), already cleaned. */
  readonly warnings: string[];
}

function isRegularFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Reads a file `wg` would read, through the guard; a failure is one line (125). */
async function readInput(
  path: string,
  what: string,
  guard: MessageGuard,
  warnings: string[],
): Promise<string> {
  try {
    const text = await readSecretFile(path, what, hostLoadIo, warnings);
    guard.addInput(text);
    return text;
  } catch (e) {
    throw new LiveError(guard.clean((e as Error).message));
  }
}

/** Refuses anything but one key (or nothing, which `wg` takes as "remove"). */
function checkKeyText(
  text: string,
  flag: string,
  path: string,
  kind: KeyKind,
  guard: MessageGuard,
) {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  if (lines.length === 0) return;
  const site = { at: "", name: `${flag} file '${path}'` };
  try {
    if (lines.length > 1) {
      throw new Error(
        `wgcage: ${site.name} must hold one key on one line (it has ${lines.length})`,
      );
    }
    parseKeyValue(site, lines[0].replace(/^\uFEFF/, ""), kind);
  } catch (e) {
    throw new LiveError(`${guard.clean((e as Error).message)}; nothing was changed`);
  }
}

/**
 * Checks `wg set IFACE ARGS…`'s arguments (`args` without `set IFACE`):
 * every key file and peer key. Returns the arguments to give `wg`.
 */
export async function checkSetArgs(args: readonly string[]): Promise<WgInput> {
  const guard = new MessageGuard();
  const warnings: string[] = [];
  const out = [...args];
  let stdin: string | undefined;
  for (let i = 0; i < out.length; i++) {
    const word = out[i];
    if (word === "peer" && i + 1 < out.length) {
      const site = { at: "", name: "The peer's public key" };
      try {
        parseKeyValue(site, out[i + 1], "public");
      } catch (e) {
        // A private key pasted in place of a public one is no less secret.
        guard.addInput(out[i + 1]);
        throw new LiveError(`${guard.clean((e as Error).message)}; nothing was changed`);
      }
      i++;
      continue;
    }
    // Any other word may be a key typed where it does not belong (after
    // `endpoint` or `allowed-ips`), which `wg` quotes back when it refuses it.
    guard.addInput(word);
    if ((word !== "private-key" && word !== "preshared-key") || i + 1 >= out.length) continue;
    const path = out[i + 1];
    const kind: KeyKind = word === "private-key" ? "private" : "preshared";
    const text = await readInput(path, `${word} file`, guard, warnings);
    checkKeyText(text, word, path, kind, guard);
    if (!isRegularFile(path)) {
      if (stdin !== undefined) {
        throw new LiveError(
          `Cannot hand 'wg' two keys that are not files ('${path}' and another); ` +
            "write one of them to a file (mode 0600) and pass its path",
        );
      }
      stdin = text;
      out[i + 1] = "/dev/stdin";
    }
    i++;
  }
  return { args: out, stdin, guard, warnings: warnings.map((w) => guard.clean(w)) };
}

/**
 * Reads and checks a config file for `wg syncconf`/`setconf`/`addconf`: a
 * wg or wg-quick file, whose wg-quick-only lines (Address, DNS, MTU, hooks)
 * are left out. `wg` gets the text on its standard input.
 */
export async function checkConfFile(path: string): Promise<WgInput & { stdin: string }> {
  const guard = new MessageGuard();
  const warnings: string[] = [];
  const text = await readInput(path, "config file", guard, warnings);
  try {
    readWgQuick(text, path);
  } catch (e) {
    throw new LiveError(`${guard.clean((e as Error).message)}; nothing was changed`);
  }
  const plain = text.split(/\r\n|\n|\r/).filter((l) => !QUICK_ONLY.test(l)).join("\n");
  return {
    args: ["/dev/stdin"],
    stdin: plain,
    guard,
    warnings: warnings.map((w) => guard.clean(w)),
  };
}
