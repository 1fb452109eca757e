/**
 * The tunnel configuration: wg-quick files, command-line flags, and endpoint
 * resolution. Callers need only what this module exports.
 *
 * @module
 */

export type { Cidr, EndpointSpec, InterfaceConfig, PeerConfig, TunnelConfig } from "./types.ts";
export { Key } from "./types.ts";
export { ConfigError } from "./config_error.ts";
export type { ConfigFlags, ConfigSource } from "./flags.ts";
export { hostLoadIo, loadConfig, type LoadedConfig, type LoadIo } from "./load.ts";
export { parseWgQuick } from "./wg_quick.ts";
export { hostResolver, resolveEndpoint, type ResolverIo } from "./resolve_endpoint.ts";
export { formatEndpoint, type ResolvedEndpoint } from "./endpoint.ts";
export { formatCidr, maskCidr, parseCidr } from "./cidr.ts";
export { formatIp, parseIp } from "./ip.ts";
