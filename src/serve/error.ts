/**
 * A failure of `wgcage serve` the operator can fix: one line, exit 125.
 *
 * @module
 */

export class ServeError extends Error {
  readonly exitCode = 125;
  constructor(message: string) {
    super(message.startsWith("wgcage: ") ? message : `wgcage: ${message}`);
    this.name = "ServeError";
  }
}
