/**
 * A sleep without a timer: libc's poll() on no fds, called on one of Deno's
 * worker threads (a non-blocking FFI call). The first setTimeout or
 * setInterval in a Deno process loads Deno's Node timers, 10 ms or more of a
 * run's start-up on a busy host; what must wait during start-up waits here.
 * Unlike an unref'ed timer, a pending sleep keeps the event loop alive:
 * wgcage ends with Deno.exit, not by running out of work.
 *
 * @module
 */

const libcPoll = {
  poll: { parameters: ["pointer", "u64", "i32"], result: "i32", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;

let poll: Deno.DynamicLibrary<typeof libcPoll>["symbols"]["poll"] | undefined;

/**
 * Resolves after about `ms` milliseconds (sooner if a signal interrupts the
 * wait). Throws when libc cannot be loaded (no FFI permission).
 */
export async function sleepMs(ms: number): Promise<void> {
  poll ??= Deno.dlopen("libc.so.6", libcPoll).symbols.poll;
  await poll(null, 0n, Math.max(0, Math.ceil(ms)));
}
