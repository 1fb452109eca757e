/**
 * Long work of the keeper in slices: a generator does the work and yields
 * where it may pause; {@linkcode runSliced} lets the event loop run (the
 * tunnel's data path runs on it too) once a slice has taken
 * {@linkcode SLICE_MS}, {@linkcode runNow} runs it through.
 *
 * @module
 */

/** How long the keeper works before the event loop, and the tunnel, get a turn. */
export const SLICE_MS = 5;

/** Work that yields where it may pause and returns `T` at the end. */
export type Steps<T> = Generator<void, T, void>;

/** Runs `steps` to the end at once. */
export function runNow<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * Runs `steps`, letting the event loop run between slices; `check` runs
 * after each pause (it may throw to stop the work).
 */
export async function runSliced<T>(steps: Steps<T>, check?: () => void): Promise<T> {
  let since = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - since < SLICE_MS) continue;
    await new Promise((resolve) => setTimeout(resolve, 0));
    check?.();
    since = performance.now();
  }
}
