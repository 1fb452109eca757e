/**
 * Speed of the core's cryptography against OpenSSL, in one run:
 *
 * - ChaCha20-Poly1305 seal and open of 1420-byte packets, in place, over a
 *   batch of packets in the core's memory (one export call per packet);
 * - `openssl speed -evp chacha20-poly1305 -seconds 1 -bytes 1024`, best of three;
 * - X25519 operations per second (a bound on handshakes per second);
 * - the size of the .wasm module.
 *
 * Every rate is per second of user CPU time, the divisor `openssl speed` uses.
 *
 * Usage: `deno task bench:crypto`. Prints one figure per line; the last line
 * is `aead_ratio=<core seal bytes/s ÷ OpenSSL bytes/s at 1024 bytes>`.
 *
 * @module
 */

import process from "node:process";
import { CORE_WASM_SIZE, instantiateCore } from "../src/wg/wasm.ts";

const PACKET = 1420;
const BATCH = 64;
const SLOT = PACKET + 16;

interface BenchExports {
  memory: WebAssembly.Memory;
  wg_alloc(len: number): number;
  wg_aead_seal(...args: number[]): number;
  wg_aead_open(...args: number[]): number;
  wg_x25519(out: number, scalar: number, point: number): number;
}

/**
 * Rounds per second of `round` over `seconds`, per second of this process's
 * user CPU time: the divisor `openssl speed` uses (without -elapsed), so that
 * a busy host, which takes wall time from both alike only in turns, does not
 * weigh on one side of the ratio alone.
 */
function rate(seconds: number, round: () => void): number {
  let rounds = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage().user;
  let now = start;
  while (now - start < seconds * 1000) {
    round();
    rounds++;
    now = performance.now();
  }
  const cpuSeconds = (process.cpuUsage().user - cpuStart) / 1e6;
  return rounds / Math.max(cpuSeconds, 1e-6);
}

/**
 * The best rate of each job over `trials` interleaved runs, after a warm-up
 * long enough for the engine to finish optimizing the core's code.
 */
function best(jobs: (() => void)[], trials = 3, seconds = 1): number[] {
  for (const job of jobs) rate(0.5, job);
  const out = jobs.map(() => 0);
  for (let t = 0; t < trials; t++) {
    jobs.forEach((job, i) => out[i] = Math.max(out[i], rate(seconds, job)));
  }
  return out;
}

/**
 * Bytes per second of OpenSSL's ChaCha20-Poly1305 at 1024-byte blocks: the
 * best of `trials` one-second runs, as the core's figures are best of three.
 */
async function opensslBytesPerSecond(trials = 3): Promise<number> {
  let bestRate = 0;
  for (let i = 0; i < trials; i++) bestRate = Math.max(bestRate, await opensslRun());
  return bestRate;
}

async function opensslRun(): Promise<number> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("openssl", {
      args: ["speed", "-evp", "chacha20-poly1305", "-seconds", "1", "-bytes", "1024"],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        "Cannot run openssl: not installed; install it with: apt-get install openssl",
      );
    }
    throw e;
  }
  const text = new TextDecoder().decode(out.stdout);
  // "ChaCha20-Poly1305  1211790.22k" — thousands of bytes per second.
  const m = /^chacha20-poly1305\s+([\d.]+)k\s*$/im.exec(text);
  if (!out.success || !m) {
    throw new Error(`Cannot parse the output of openssl speed: ${text.trim().split("\n").pop()}`);
  }
  return Number(m[1]) * 1000;
}

async function main(): Promise<void> {
  const core = (await instantiateCore()).exports as unknown as BenchExports;
  const key = core.wg_alloc(32);
  const nonce = core.wg_alloc(12);
  const slots = core.wg_alloc(SLOT * BATCH);
  const scalar = core.wg_alloc(32);
  const point = core.wg_alloc(32);
  const shared = core.wg_alloc(32);
  const mem = () => new Uint8Array(core.memory.buffer);
  crypto.getRandomValues(mem().subarray(key, key + 32));
  for (let i = 0; i < BATCH; i++) {
    crypto.getRandomValues(mem().subarray(slots + i * SLOT, slots + (i + 1) * SLOT));
  }
  crypto.getRandomValues(mem().subarray(scalar, scalar + 32));
  mem()[point] = 9;

  const opened = core.wg_alloc(SLOT);
  const sealed = core.wg_alloc(SLOT * BATCH);
  mem().copyWithin(sealed, slots, slots + SLOT * BATCH);
  for (let i = 0; i < BATCH; i++) {
    const p = sealed + i * SLOT;
    core.wg_aead_seal(key, nonce, 0, 0, p, PACKET, p);
  }

  // Seal in place, as the data path does (resealing ciphertext is the same work).
  const seal = () => {
    for (let i = 0; i < BATCH; i++) {
      const p = slots + i * SLOT;
      if (core.wg_aead_seal(key, nonce, 0, 0, p, PACKET, p) !== SLOT) {
        throw new Error("seal failed");
      }
    }
  };
  // Open into a scratch buffer so the sealed packets stay valid.
  const open = () => {
    for (let i = 0; i < BATCH; i++) {
      const p = sealed + i * SLOT;
      if (core.wg_aead_open(key, nonce, 0, 0, p, SLOT, opened) !== PACKET) {
        throw new Error("open failed");
      }
    }
  };
  const x25519 = () => {
    core.wg_x25519(shared, scalar, point);
    mem().copyWithin(point, shared, shared + 32);
  };
  const [sealRounds, openRounds, x25519Rate] = best([seal, open, x25519]);
  const sealRate = sealRounds * BATCH * PACKET;
  const openRate = openRounds * BATCH * PACKET;

  const openssl = await opensslBytesPerSecond();
  const mb = (bytesPerSecond: number) => (bytesPerSecond / 1e6).toFixed(1);
  console.log(`core_seal_1420=${mb(sealRate)} MB/s`);
  console.log(`core_open_1420=${mb(openRate)} MB/s`);
  console.log(`core_seal_packets=${Math.round(sealRate / PACKET)} packets/s`);
  console.log(`openssl_chacha20_poly1305_1024=${mb(openssl)} MB/s`);
  console.log(`x25519=${Math.round(x25519Rate)} ops/s`);
  console.log(`wasm_size=${CORE_WASM_SIZE} bytes`);
  console.log(`aead_ratio=${(sealRate / openssl).toFixed(3)}`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`bench:crypto: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
