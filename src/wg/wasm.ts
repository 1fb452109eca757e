/**
 * The WireGuard core as a WebAssembly module, loaded from the embedded,
 * generated asset (`_wasm_asset.ts`), so that `deno run` and `deno compile`
 * read the same bytes and no path next to the source is ever needed. The module is compiled once per process; each device
 * is its own instance.
 *
 * @module
 */

import { wasmBytes } from "./_wasm_asset.ts";
import { phaseBegins, phaseEnds } from "../startup_breakdown.ts";

/** Size of the core's WebAssembly module in bytes. */
export const CORE_WASM_SIZE: number = wasmBytes.length;

let compiled: Promise<WebAssembly.Module> | undefined;

/** The compiled core, shared by every instance in this process. */
export function compileCore(): Promise<WebAssembly.Module> {
  if (compiled === undefined) {
    phaseBegins("core compile");
    compiled = WebAssembly.compile(wasmBytes as Uint8Array<ArrayBuffer>).then((m) => {
      phaseEnds("core compile");
      return m;
    });
  }
  return compiled;
}

/**
 * A fresh instance of the core: one WireGuard device. Instantiated at once
 * (~0.2 ms on the calling thread), not with `WebAssembly.instantiate`,
 * whose result comes back through a task of the event loop: the first
 * handshake of a run waits for it (~0.9 ms sooner in paired runs).
 */
export async function instantiateCore(): Promise<WebAssembly.Instance> {
  return new WebAssembly.Instance(await compileCore(), {});
}
