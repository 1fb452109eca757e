import { strictEqual } from "node:assert";
import { MessageGuard } from "./message_guard.ts";
import { ConfigError } from "./config_error.ts";

const KEY = "npJLqJbzp0hfXIWs+9AjqYWKzlHPpgo2oYDip3UQg30=";
const HEX = Uint8Array.fromBase64(KEY).toHex();

function guardOf(...inputs: string[]): MessageGuard {
  const guard = new MessageGuard();
  for (const input of inputs) guard.addInput(input);
  return guard;
}

Deno.test("a key of the input is redacted wherever it appears, whole or in part", () => {
  const guard = guardOf(`[Interface]\nAddress = ${KEY}\n`);
  strictEqual(
    guard.clean(
      `wgcage: wg.conf:2: Address '${KEY}' is not a valid CIDR; write it like 10.0.0.2/32`,
    ),
    "wgcage: wg.conf:2: Address '<redacted>' is not a valid CIDR; write it like 10.0.0.2/32",
  );
  strictEqual(
    guard.clean(`wgcage: x '${KEY.slice(5, 20)}' and (${KEY.slice(25, 36)})`),
    "wgcage: x '<redacted>' and (<redacted>)",
  );
  // Glued to a word, the whole run goes.
  strictEqual(
    guard.clean(`Unknown key 'PrivateKey${KEY.slice(0, 30)}'`),
    "Unknown key '<redacted>'",
  );
  // And the hex of a key found in the input.
  strictEqual(guard.clean(`x ${HEX} y ${HEX.toUpperCase()}`), "x <redacted> y <redacted>");
});

Deno.test("an input recorded after a message was cleaned is searched too", () => {
  const guard = guardOf(`PrivateKey = ${KEY}\n`);
  strictEqual(guard.clean(`x ${KEY}`), "x <redacted>");
  const other = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
  strictEqual(guard.clean(`x ${other}`), `x ${other}`);
  guard.addInput(`PresharedKey = ${other}\n`);
  strictEqual(guard.clean(`x ${other} ${KEY}`), "x <redacted> <redacted>");
});

Deno.test("the config's own words and the rest of a message are left alone", () => {
  const guard = guardOf(`PresharedKey=${KEY}\nPersistentKeepalive=25\n`);
  const message =
    "wgcage: /etc/wireguard/wg0.conf:8: PresharedKey is set twice in this section (first on line 2); keep one; PersistentKeepalive 'x' is not valid";
  strictEqual(guard.clean(message), message);
  // Nothing read, nothing redacted.
  strictEqual(new MessageGuard().clean(`wgcage: ${KEY}`), `wgcage: ${KEY}`);
  // Long runs that are not random: a misspelt key name, a run of digits, the all-zero key.
  const words = guardOf(
    "PersistentKeepalives = 1\nAddress = 1111111111111111111111111111\n" +
      "PublicKey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
  );
  for (
    const kept of ["PersistentKeepalives", "1111111111111111111111111111", "AAAAAAAAAAAAAAAAAAAA"]
  ) {
    strictEqual(words.clean(`wgcage: '${kept}'`), `wgcage: '${kept}'`);
  }
});

Deno.test("a long quoted value from the input is cut to 40 characters; a long path is not", () => {
  const value = "10.0.0.1,".repeat(20);
  const path = `/home/someone/a-rather-long-directory-name/wireguard/${"x".repeat(30)}.conf`;
  const guard = guardOf(`DNS = ${value}`);
  strictEqual(
    guard.clean(`wgcage: ${path}:1: DNS '${value}' is bad; run 'chmod 600 ${path}'`),
    `wgcage: ${path}:1: DNS '${value.slice(0, 40)}…' is bad; run 'chmod 600 ${path}'`,
  );
  // An apostrophe inside a word opens no quote.
  strictEqual(
    guard.clean(`wgcage: the peer's key ('${value}')`),
    `wgcage: the peer's key ('${value.slice(0, 40)}…')`,
  );
});

Deno.test("a huge message keeps its start and its end", () => {
  const value = "a b ".repeat(300_000);
  const guard = guardOf(value);
  // An unbalanced quote: the value is not recognised as one, the length cap still holds.
  const cleaned = guard.clean(`wgcage: wg.conf:3: DNS entry 'x'${value}' is bad; write a server`);
  strictEqual(cleaned.length, 600);
  strictEqual(cleaned.startsWith("wgcage: wg.conf:3: DNS entry"), true);
  strictEqual(cleaned.endsWith("' is bad; write a server"), true);
});

Deno.test("control characters cannot break the line or drive the terminal", () => {
  strictEqual(
    new MessageGuard().clean("wgcage: a\nb\r\u001b[31mc\u0000d\u2028e\u202ef\u0085g"),
    "wgcage: a?b??[31mc?d?e?f?g",
  );
});

Deno.test("cleanError keeps a ConfigError a ConfigError and drops the original", () => {
  const guard = guardOf(KEY);
  const original = new ConfigError(`wgcage: bad '${KEY}'`, { cause: new Error(KEY) });
  const cleaned = guard.cleanError(original);
  strictEqual(cleaned instanceof ConfigError, true);
  strictEqual(cleaned.message, "wgcage: bad '<redacted>'");
  strictEqual(cleaned.cause, undefined);
  const launcher = Object.assign(new Error(`wgcage: launcher ${KEY}`), { exitCode: 125 });
  strictEqual(guard.cleanError(launcher), launcher);
  strictEqual(launcher.message, "wgcage: launcher <redacted>");
  const internal = guard.cleanError(new TypeError(`oops ${KEY}`));
  strictEqual(internal instanceof ConfigError, false);
  strictEqual(internal.message, "oops <redacted>");
});
