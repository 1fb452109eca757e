/**
 * A failure of the tunnel itself (socket, handshake, data path): one line
 * starting with `wgcage: ` that names the cause and the fix; exit status 125.
 *
 * @module
 */

export class TunnelError extends Error {
  readonly exitCode = 125;
  constructor(message: string, options?: ErrorOptions) {
    super(`wgcage: ${message}`, options);
    this.name = "TunnelError";
  }
}
