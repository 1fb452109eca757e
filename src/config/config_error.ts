/**
 * The error every config problem is thrown as: a one-line message naming where
 * (file and line, or the flag) and what to do.
 *
 * @module
 */

/** A problem with the tunnel configuration; wgcage exits with status 125. */
export class ConfigError extends Error {
  /** The exit status for wgcage's own failures. */
  readonly exitCode = 125;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigError";
  }
}
