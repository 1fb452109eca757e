/**
 * The one place that decides what a config message may show. Every error and
 * warning the loader produces passes through {@linkcode MessageGuard.clean},
 * which knows the text the loader read (the config, key files, flag values):
 *
 * 1. Control characters become `?`, so a message stays one line and cannot
 *    drive the terminal.
 * 2. A quoted value longer than 40 characters that came from the input is
 *    cut to its first 40 and `…`; a message still over 600 characters loses
 *    its middle (the place comes first, the fix last).
 * 3. Secrets are redacted: any run of 20 or more base64 characters in the
 *    input that looks random may be a key or part of one (a key can sit on
 *    the wrong line, lose a character, or be glued to the next line), and a
 *    stretch of a message that shares 10 characters with such a run is shown
 *    as `<redacted>`.
 *
 * Keys are checked against what was read, not against where they belong,
 * because the broken inputs are exactly the ones whose keys are misplaced.
 *
 * @module
 */

import { ConfigError } from "./config_error.ts";

/** What a redacted stretch of a message shows instead. */
export const REDACTED = "<redacted>";

/** Quoted input values longer than this are cut to this many characters and `…`. */
export const MAX_VALUE_SHOWN = 40;

/** A message longer than this loses its middle. */
export const MAX_MESSAGE_LENGTH = 600;

/** A base64 run this long in the input may hold a key or part of one. */
const SECRET_RUN = 20;

/**
 * ...made of at least this many different characters (20 characters of a key
 * have about 15; a run of one digit, or of `A`, the all-zero key, is no secret).
 */
const SECRET_VARIETY = 6;

/** A stretch of a message sharing this many characters with a secret run is redacted. */
const SHARED = 10;

/** Base64 without its padding: a key's `=` and the config's `=` are no secret. */
const BASE64_RUN = /[A-Za-z0-9+/]+/g;

/** A 32-byte key in standard base64, as `wg` writes it. */
const KEY_TOKEN = /[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=/g;

/**
 * C0 and C1 controls, DEL, line and paragraph separators, and the bidi
 * embedding, override and isolate controls.
 */
// deno-lint-ignore no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * A quoted value: a `'` at the start or after blank space, `(` or `=`, up to
 * the next `'` that ends a word (followed by the end, blank space or
 * punctuation). An apostrophe inside a word ("peer's") opens nothing.
 */
const QUOTED = /(^|[\s(=])'(.*?)'(?=$|[\s;:,.)?!])/g;

/** Words of the config format: never secret, even when a secret was glued to one. */
const VOCABULARY = new Set(
  [
    "PrivateKey",
    "PublicKey",
    "PresharedKey",
    "AllowedIPs",
    "PersistentKeepalive",
    "ListenPort",
    "SaveConfig",
    "Interface",
  ].map((word) => word.toLowerCase()),
);

/** Keeps secrets and oversized values out of the loader's messages. */
export class MessageGuard {
  /** Base64 runs of the input (and the hex of any key among them), joined by newlines. */
  #secrets = "";
  /** Every input text, for telling a value from the message's own words. */
  readonly #inputs: string[] = [];
  /**
   * How many of `#inputs` were searched for secrets. The search waits for
   * the first message to clean: most loads have nothing to say, and the
   * search of one config cost ~0.4 ms of every run's start.
   */
  #searched = 0;

  /** Records text the loader read: a config, a key file, a flag's value. */
  addInput(text: string): void {
    this.#inputs.push(text);
  }

  /** `#secrets`, with every input recorded so far searched. */
  #secretRuns(): string {
    for (; this.#searched < this.#inputs.length; this.#searched++) {
      const text = this.#inputs[this.#searched];
      const runs: string[] = [];
      for (const [run] of text.matchAll(BASE64_RUN)) {
        if (mayBeSecret(run)) runs.push(run);
      }
      for (const [token] of text.matchAll(KEY_TOKEN)) {
        const bytes = Uint8Array.fromBase64(token);
        runs.push(bytes.toHex(), bytes.toHex().toUpperCase());
        bytes.fill(0);
      }
      if (runs.length > 0) this.#secrets += `\n${runs.join("\n")}\n`;
    }
    return this.#secrets;
  }

  /** The message as it may be shown: one line, values cut, secrets redacted. */
  clean(message: string): string {
    let text = message.replace(UNPRINTABLE, "?");
    // A first, rough bound keeps the value search below linear in the input.
    if (text.length > 8 * MAX_MESSAGE_LENGTH) text = cutMiddle(text, 4 * MAX_MESSAGE_LENGTH);
    text = text.replace(QUOTED, (whole, before: string, value: string) => {
      if (value.length <= MAX_VALUE_SHOWN || !this.#isInput(value)) return whole;
      return `${before}'${value.slice(0, MAX_VALUE_SHOWN)}…'`;
    });
    if (text.length > MAX_MESSAGE_LENGTH) text = cutMiddle(text, MAX_MESSAGE_LENGTH);
    return this.#redact(text);
  }

  /**
   * The error to throw instead of `error`, its message cleaned: a
   * {@linkcode ConfigError} is made anew, without the original (which may
   * hold the secret) as its cause; another error with an exit status (the
   * launcher's) keeps its class; anything else becomes an `Error`.
   */
  cleanError(error: unknown): Error {
    const message = this.clean(error instanceof Error ? error.message : String(error));
    if (error instanceof ConfigError) return new ConfigError(message);
    if (error instanceof Error && typeof (error as { exitCode?: unknown }).exitCode === "number") {
      error.message = message;
      return error;
    }
    return new Error(message);
  }

  #isInput(value: string): boolean {
    // Skips the first character: a section name is shown as '[name]' with
    // the blank space inside the brackets dropped.
    const probe = value.slice(1, MAX_VALUE_SHOWN + 1);
    return this.#inputs.some((input) => input.includes(probe));
  }

  #redact(text: string): string {
    const secrets = this.#secretRuns();
    if (secrets === "") return text;
    // A redacted run takes its padding with it.
    return text.replace(/[A-Za-z0-9+/]+={0,2}/g, (padded) => {
      const run = padded.replace(/=+$/, "");
      if (run.length < SHARED || VOCABULARY.has(run.toLowerCase())) return padded;
      for (let at = 0; at + SHARED <= run.length; at++) {
        if (secrets.includes(run.slice(at, at + SHARED))) return REDACTED;
      }
      return padded;
    }).replaceAll(`${REDACTED}…`, REDACTED);
  }
}

/**
 * Whether a run of base64 characters from the input may be (part of) a key:
 * long enough, varied enough, and mixed like random text (a digit, `+` or
 * `/`, or four letters of each case), which a long word of the config, even
 * misspelt ("PersistentKeepalives"), is not. Of random 20-character runs,
 * about 1 in 25,000 fails this.
 */
function mayBeSecret(run: string): boolean {
  if (run.length < SECRET_RUN || new Set(run).size < SECRET_VARIETY) return false;
  if (/[0-9+/]/.test(run)) return true;
  return run.replace(/[^A-Z]/g, "").length >= 4 && run.replace(/[^a-z]/g, "").length >= 4;
}

/** Keeps the start and the end of `text`, `length` characters in all. */
function cutMiddle(text: string, length: number): string {
  const head = Math.ceil((length - 3) / 2);
  const tail = length - 3 - head;
  return `${text.slice(0, head)} … ${text.slice(text.length - tail)}`;
}
