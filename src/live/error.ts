/**
 * A live cage's refusal or failure the user can act on (no such cage, a name
 * in use, a state directory that is not safe): one line with cause and fix,
 * exit status 125.
 *
 * @module
 */

export class LiveError extends Error {
  readonly exitCode = 125;
  constructor(message: string) {
    super(message.startsWith("wgcage: ") ? message : `wgcage: ${message}`);
    this.name = "LiveError";
  }
}
