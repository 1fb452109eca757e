/**
 * The cage's /etc/resolv.conf, /etc/hosts and /etc/nsswitch.conf.
 *
 * @module
 */

export { type ResolvConf, resolvConf, type ResolvConfOptions } from "./resolv_conf.ts";
export { hostsFile } from "./hosts.ts";
export { nsswitchConf } from "./nsswitch.ts";
export { readHostResolvConf } from "./read_host_resolv_conf.ts";
