/**
 * Runs one Wycheproof test-vector file against the core's primitive exports:
 * the AEAD schema (ChaCha20-Poly1305, XChaCha20-Poly1305) or the X25519
 * (XDH) schema, chosen by the file's "algorithm" and "schema" fields.
 *
 * Usage: `deno task vectors <file.json>`. Prints each failure and ends with
 * `N passed, N failed`; the exit status is 0 only when none failed.
 *
 * @module
 */

import { CorePrimitives, corePrimitives } from "../src/wg/primitives.ts";

/** The tally of one vector file. */
export interface VectorReport {
  passed: number;
  failed: number;
  /** One line per failing case: its id, comment and what went wrong. */
  failures: string[];
}

interface AeadCase {
  tcId: number;
  comment: string;
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: "valid" | "invalid" | "acceptable";
  flags: string[];
}

interface XdhCase {
  tcId: number;
  comment: string;
  public: string;
  private: string;
  shared: string;
  result: "valid" | "invalid" | "acceptable";
  flags: string[];
}

interface VectorFile {
  algorithm: string;
  schema: string;
  testGroups: { tests: unknown[] }[];
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Runs a call that may reject its arguments; a thrown RangeError means "rejected". */
function attempt<T>(f: () => T): T | "rejected" {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError) return "rejected";
    throw e;
  }
}

/** Checks one AEAD case; returns why it failed, or undefined when it passed. */
function checkAead(core: CorePrimitives, t: AeadCase): string | undefined {
  const [key, iv, aad, msg] = [t.key, t.iv, t.aad, t.msg].map((field) => Uint8Array.fromHex(field));
  const sealed = concat(Uint8Array.fromHex(t.ct), Uint8Array.fromHex(t.tag));
  const opened = attempt(() => core.open(key, iv, aad, sealed));
  if (t.result === "invalid") {
    if (opened !== "rejected" && opened !== undefined) return "an invalid case was accepted";
    return undefined;
  }
  const ours = attempt(() => core.seal(key, iv, aad, msg));
  if (ours === "rejected") return "seal rejected valid arguments";
  if (ours.toHex() !== sealed.toHex()) {
    return `seal gave ${ours.toHex()}, expected ${sealed.toHex()}`;
  }
  if (opened === "rejected" || opened === undefined) return "open rejected a valid ciphertext";
  if (opened.toHex() !== t.msg) return `open gave ${opened.toHex()}, expected ${t.msg}`;
  return undefined;
}

/**
 * Checks one X25519 case. The shared value must match for valid and
 * acceptable cases alike; an all-zero result (low-order points) must be
 * reported as such, since WireGuard rejects it.
 */
function checkXdh(core: CorePrimitives, t: XdhCase): string | undefined {
  const got = attempt(() =>
    core.x25519(Uint8Array.fromHex(t.private), Uint8Array.fromHex(t.public))
  );
  if (t.result === "invalid") {
    return got === "rejected" || got.isZero ? undefined : "an invalid case was accepted";
  }
  if (got === "rejected") return "X25519 rejected its arguments";
  if (got.shared.toHex() !== t.shared) return `shared ${got.shared.toHex()}, expected ${t.shared}`;
  const expectZero = /^(00)+$/.test(t.shared);
  if (got.isZero !== expectZero) {
    return expectZero ? "an all-zero result was not flagged" : "a non-zero result was flagged zero";
  }
  return undefined;
}

/** Runs every case of a parsed Wycheproof file. */
export function runVectors(core: CorePrimitives, file: VectorFile): VectorReport {
  const report: VectorReport = { passed: 0, failed: 0, failures: [] };
  let check: (t: never) => string | undefined;
  if (file.schema === "aead_test_schema_v1.json" && /CHACHA20-POLY1305$/.test(file.algorithm)) {
    check = (t: AeadCase) => checkAead(core, t);
  } else if (file.schema === "xdh_comp_schema_v1.json" && file.algorithm === "XDH") {
    check = (t: XdhCase) => checkXdh(core, t);
  } else {
    throw new TypeError(
      `Cannot run vectors for algorithm "${file.algorithm}" with schema "${file.schema}": ` +
        "expected CHACHA20-POLY1305, XCHACHA20-POLY1305 (aead_test_schema_v1) or XDH (xdh_comp_schema_v1)",
    );
  }
  for (const group of file.testGroups) {
    for (const t of group.tests as (AeadCase | XdhCase)[]) {
      const why = check(t as never);
      if (why === undefined) {
        report.passed++;
      } else {
        report.failed++;
        report.failures.push(`tcId ${t.tcId} (${t.result}; ${t.comment}): ${why}`);
      }
    }
  }
  return report;
}

/** Reads and runs one Wycheproof JSON file. */
export async function runVectorFile(path: string, core = corePrimitives()): Promise<VectorReport> {
  const file = JSON.parse(await Deno.readTextFile(path)) as VectorFile;
  return runVectors(core, file);
}

if (import.meta.main) {
  const path = Deno.args[0];
  if (path === undefined) {
    console.error(
      "vectors: Missing the vector file; run: deno task vectors <wycheproof-file.json>",
    );
    Deno.exit(2);
  }
  let report: VectorReport;
  try {
    report = await runVectorFile(path);
  } catch (e) {
    console.error(`vectors: Cannot run ${path}: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(2);
  }
  for (const line of report.failures) console.log(`FAIL ${line}`);
  console.log(`${report.passed} passed, ${report.failed} failed`);
  Deno.exit(report.failed === 0 ? 0 : 1);
}
