import assert from "node:assert/strict";
import { decodeKey, encodeKey, genkey, genpsk, pubkey } from "./keys.ts";

/** Runs `wg <cmd>` with `input` on stdin; fails loudly when wireguard-tools is missing. */
async function wg(cmd: string, input: string): Promise<string> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("wg", {
      args: [cmd],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    })
      .spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error("This test needs 'wg'; install it with: apt-get install wireguard-tools");
    }
    throw e;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const out = await child.output();
  assert.ok(out.success, `wg ${cmd} failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("pubkey agrees with 'wg pubkey' byte for byte on generated and edge-case keys", async () => {
  const keys = [
    genkey(),
    genkey(),
    genkey(),
    genkey(),
    // Unclamped keys: both sides clamp before multiplying.
    encodeKey(new Uint8Array(32).fill(0xff)),
    encodeKey(new Uint8Array(32)),
    encodeKey(Uint8Array.from({ length: 32 }, (_, i) => i)),
  ];
  for (const k of keys) {
    assert.equal(pubkey(k), await wg("pubkey", k + "\n"));
  }
});

Deno.test("pubkey agrees with 'wg pubkey' on keys from 'wg genkey'", async () => {
  for (let i = 0; i < 4; i++) {
    const k = await wg("genkey", "");
    assert.equal(pubkey(k), await wg("pubkey", k + "\n"));
  }
});

Deno.test("genkey makes clamped, distinct 44-character keys", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const k = genkey();
    assert.equal(k.length, 44);
    const bytes = decodeKey(k);
    assert.ok(bytes);
    assert.equal(bytes[0] & 7, 0);
    assert.equal(bytes[31] & 0xc0, 0x40);
    seen.add(k);
  }
  assert.equal(seen.size, 50);
});

Deno.test("genpsk makes distinct 32-byte keys", () => {
  const a = genpsk();
  const b = genpsk();
  assert.notEqual(a, b);
  assert.equal(decodeKey(a)?.length, 32);
});

Deno.test("decodeKey accepts only canonical 32-byte base64 with padding", () => {
  const zero = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  assert.deepEqual(decodeKey(zero), new Uint8Array(32));
  assert.equal(decodeKey(zero.slice(0, 43)), undefined, "no padding");
  assert.equal(decodeKey(zero + "="), undefined, "too long");
  assert.equal(
    decodeKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="),
    undefined,
    "non-canonical",
  );
  assert.equal(
    decodeKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-="),
    undefined,
    "url alphabet",
  );
  assert.equal(
    decodeKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    undefined,
    "35 bytes",
  );
  assert.equal(decodeKey(" " + zero.slice(1)), undefined);
  const k = genkey();
  assert.equal(encodeKey(decodeKey(k)!), k);
});

Deno.test("pubkey's error never contains the text it was given", () => {
  const secretish = "not-a-key-but-could-be-a-secret-of-44-chars!";
  assert.throws(() => pubkey(secretish), (e: Error) => {
    assert.ok(e instanceof TypeError);
    assert.ok(!e.message.includes(secretish));
    assert.match(e.message, /wg genkey/);
    return true;
  });
});
