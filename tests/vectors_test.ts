/**
 * Runs the shared test vectors against the core: the three Wycheproof files
 * (ChaCha20-Poly1305, XChaCha20-Poly1305, X25519) and the BLAKE2s known
 * answers of the BLAKE2 reference (keyed and unkeyed). The vectors live
 * outside the repository, in the folder named by WGCAGE_VECTORS (default
 * ../shared/vectors next to the repository root).
 */

import assert from "node:assert/strict";
import { corePrimitives } from "../src/wg/primitives.ts";
import { runVectorFile, runVectors } from "./vectors.ts";

const repoRoot = new URL("../", import.meta.url);
const vectorsDir = Deno.env.get("WGCAGE_VECTORS") ??
  new URL("../shared/vectors", repoRoot).pathname;

/** The path of a vector file; fails loudly (never skips) when it is missing. */
function vectorPath(rel: string): string {
  const path = `${vectorsDir}/${rel}`;
  try {
    Deno.statSync(path);
  } catch {
    throw new Error(
      `Cannot find test vectors at ${path}: set WGCAGE_VECTORS to the folder holding ` +
        "wycheproof/ and blake2/ (default ../shared/vectors beside the repository)",
    );
  }
  return path;
}

for (
  const [file, cases] of [
    ["chacha20_poly1305_test.json", 325],
    ["xchacha20_poly1305_test.json", 315],
    ["x25519_test.json", 518],
  ] as const
) {
  Deno.test(`every Wycheproof case of ${file} gives the expected result`, async () => {
    const report = await runVectorFile(vectorPath(`wycheproof/${file}`));
    assert.deepEqual(report.failures, []);
    assert.equal(report.passed, cases);
  });
}

Deno.test("the vectors runner counts a corrupted valid case as a failure", async () => {
  const text = await Deno.readTextFile(vectorPath("wycheproof/chacha20_poly1305_test.json"));
  const file = JSON.parse(text);
  const first = file.testGroups[0].tests[0];
  assert.equal(first.result, "valid");
  first.tag = first.tag.replace(/^./, (c: string) => (c === "0" ? "1" : "0"));
  const report = runVectors(corePrimitives(), file);
  assert.equal(report.failed, 1);
  assert.match(report.failures[0], /^tcId 1 /);
});

Deno.test("the vectors runner counts a wrong X25519 result as a failure", async () => {
  const file = JSON.parse(await Deno.readTextFile(vectorPath("wycheproof/x25519_test.json")));
  file.testGroups[0].tests[0].shared = "00".repeat(32);
  const report = runVectors(corePrimitives(), file);
  assert.equal(report.failed, 1);
});

Deno.test("the vectors runner refuses a file of another schema", () => {
  assert.throws(
    () => runVectors(corePrimitives(), { algorithm: "AES-GCM", schema: "x", testGroups: [] }),
    /Cannot run vectors for algorithm "AES-GCM"/,
  );
});

Deno.test("BLAKE2s matches the reference's keyed known answers (blake2s-kat.txt)", async () => {
  const text = await Deno.readTextFile(vectorPath("blake2/blake2s-kat.txt"));
  const cases = [...text.matchAll(/in:\s*([0-9a-f]*)\s*key:\s*([0-9a-f]*)\s*hash:\s*([0-9a-f]+)/g)];
  assert.equal(cases.length, 256);
  const core = corePrimitives();
  for (const [, input, key, hash] of cases) {
    const got = core.blake2s(Uint8Array.fromHex(input), 32, Uint8Array.fromHex(key)).toHex();
    assert.equal(got, hash, `in ${input.length / 2} bytes`);
  }
});

Deno.test("BLAKE2s matches every blake2s entry of blake2-kat.json, keyed and unkeyed", async () => {
  const all = JSON.parse(await Deno.readTextFile(vectorPath("blake2/blake2-kat.json"))) as {
    hash: string;
    in: string;
    key: string;
    out: string;
  }[];
  const cases = all.filter((c) => c.hash === "blake2s");
  assert.equal(cases.filter((c) => c.key === "").length, 256);
  assert.equal(cases.filter((c) => c.key !== "").length, 256);
  const core = corePrimitives();
  for (const c of cases) {
    const got = core.blake2s(Uint8Array.fromHex(c.in), c.out.length / 2, Uint8Array.fromHex(c.key))
      .toHex();
    assert.equal(got, c.out, `in ${c.in.length / 2} bytes, key ${c.key.length / 2} bytes`);
  }
});
