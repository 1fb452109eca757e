/**
 * The help text: `wgcage help`, `wgcage --help`, and `wgcage help TOPIC`.
 *
 * @module
 */

/** Topics `wgcage help TOPIC` knows. */
export const HELP_TOPICS = ["config", "exit"] as const;

/** The main help text (also shown on stderr when wgcage runs without arguments). */
export const USAGE = `wgcage: run a command whose only network is a WireGuard tunnel

Usage:
  wgcage [OPTIONS] [--] CMD [ARGS...]  run CMD in a cage
  wgcage genkey | genpsk               print a new private / preshared key
  wgcage pubkey                        print the public key of the key on stdin
  wgcage demo [-v]                     show a cage talking to a local peer
  wgcage version
  wgcage help [config | exit]

Examples:
  wgcage --config wg.conf -- ip a
  wgcage --config-env WG_CONF -- npm test

Config (a wg-quick file; flags override it, see 'wgcage help config'):
  --config FILE               read FILE; '-' reads stdin
  --config-env VAR            read the config text from environment variable VAR

Tunnel flags (without --config they must describe the whole tunnel):
  --wg-private-key-file FILE  file holding our private key (from 'wg genkey')
  --wg-public-key KEY         the peer's public key
  --wg-endpoint HOST:PORT     the peer's address; [IPV6]:PORT for IPv6
  --wg-address CIDR           tunnel address, e.g. 10.0.0.2/32 (repeatable)
  --wg-dns ADDR               DNS server or search domain (repeatable)
  --wg-allowed-ips CIDRS      what goes to the peer (default 0.0.0.0/0, ::/0)
  --wg-psk-file FILE          file holding a preshared key (from 'wg genpsk')
  --wg-keepalive SECONDS      persistent keepalive (default off)
  --mtu N                     tunnel MTU (default 1420)
  --listen-port N             UDP port to listen on (default: any free port)

Cage:
  --handshake-timeout SECONDS
                              wait for the first handshake (default 10; 0: no)
  --tun-name NAME             interface name (default: wg1 for wg1.conf, or wg0)
  --hostname NAME             the cage's host name
  --root                      run CMD as root inside the cage (default: as you)
  -v, --verbose               say what wgcage does, on stderr
  -h, --help                  show this help
  -V, --version               show the version

wgcage's options end at the first word that is not an option: the rest is CMD's.
The flags --wg-address, --wg-dns and --wg-allowed-ips also take comma lists.

Exit status: CMD's own, or 125 if wgcage failed, 126 if CMD cannot be run,
127 if CMD is not found (see 'wgcage help exit').
`;

const CONFIG_HELP =
  `wgcage reads the wg-quick format, as 'wg-quick' and the WireGuard apps write it:

  [Interface]
  PrivateKey = <from 'wg genkey'>
  Address = 10.0.0.2/32, fd00::2/128    # several, comma-separated or repeated
  DNS = 10.0.0.1, corp.example           # servers and search domains
  MTU = 1420                             # 576..9000; at least 1280 with IPv6
  ListenPort = 51820                     # optional

  [Peer]                                 # one or more
  PublicKey = <from 'wg pubkey'>
  PresharedKey = <from 'wg genpsk'>      # optional
  AllowedIPs = 0.0.0.0/0, ::/0
  Endpoint = vpn.example.com:51820       # [IPV6]:PORT for IPv6
  PersistentKeepalive = 25               # optional; 'off' by default

Names are case-insensitive and '#' starts a comment. Table, FwMark, SaveConfig
and the PreUp/PostUp/PreDown/PostDown hooks are not used: wgcage warns and
goes on. Endpoint names are resolved with the host's resolver (/etc/hosts too).

Flags override the file (defaults < file < flags): --wg-private-key-file,
--wg-address, --wg-dns, --mtu and --listen-port replace the [Interface]
values; --wg-public-key, --wg-endpoint, --wg-allowed-ips, --wg-psk-file and
--wg-keepalive set the single [Peer] (a file with several peers cannot take
them). A config file others may read gets a warning, as with 'wg'.
`;

const EXIT_HELP = `wgcage exits with CMD's status, so it fits in scripts and CI:

  0..124    CMD's own exit status
  125       wgcage itself failed: usage, config, cage set-up, or the handshake
  126       CMD was found but cannot be run (permission, not executable)
  127       CMD was not found
  128+N     CMD was killed by signal N (e.g. 143 for SIGTERM)

Signals sent to wgcage (INT, TERM, HUP, QUIT, USR1, USR2, WINCH) are passed on
to CMD. When CMD exits, everything it left running in the cage ends too.
`;

/**
 * The text for `wgcage help [TOPIC]`; undefined for an unknown topic
 * (the argument parser refuses those first).
 */
export function helpText(topic?: string): string | undefined {
  switch (topic) {
    case undefined:
      return USAGE;
    case "config":
      return CONFIG_HELP;
    case "exit":
      return EXIT_HELP;
    default:
      return undefined;
  }
}
