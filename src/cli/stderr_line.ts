/**
 * A line on stderr, written to fd 2 directly rather than through the
 * console: for one string `console.error` writes the same bytes, but a run's
 * first use of the console costs ~0.5 ms of its start-up (measured on the
 * warning most runs without `DNS =` print), and a run needs nothing else of it.
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Writes `line` and a newline to stderr, all of it (a pipe may take part of a
 * long line at a time). A stderr that is closed or whose reader went away
 * loses the line, as with `console.error`; the run goes on.
 */
export function stderrLine(line: string): void {
  const bytes = encoder.encode(`${line}\n`);
  try {
    for (let done = 0; done < bytes.length;) {
      const n = Deno.stderr.writeSync(bytes.subarray(done));
      if (n <= 0) return;
      done += n;
    }
  } catch {
    // Nowhere to say it (EPIPE, EBADF).
  }
}
