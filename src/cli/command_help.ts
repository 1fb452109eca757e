/**
 * Each subcommand's own help: `wgcage help up`, `wgcage up --help`,
 * `wgcage genkey -h` (as `git help CMD` and `podman CMD --help` give one
 * command's usage rather than the whole tool's).
 *
 * @module
 */

const HELP: Record<string, string> = {
  up: `Usage: wgcage up NAME [-d] [--rm-when-idle] [OPTIONS]

Starts the live cage NAME (1-15 of A-Z a-z 0-9 _=+.-) and keeps it up for
'wgcage exec NAME -- CMD'. OPTIONS are the run options of 'wgcage --help'
(--config, --wg-*, --root, -p, …); they come after NAME, and no command
follows them.

  -d, --detach      return once the first handshake completed; a keeper
                    process holds the cage
  --rm-when-idle    end the cage when the last command that joined it ends
  --die-with-parent in the foreground: end the cage when the process that
                    started 'up' ends (refused with -d)

  wgcage up ci --config wg0.conf -d
`,
  exec: `Usage: wgcage exec [-v] NAME [--] CMD [ARGS...]

Runs CMD in the live cage NAME, with the exit status, signals and terminal of
a run. A small native program does the join, without starting Deno where it
can (WGCAGE_NATIVE_JOIN=0: never); -v says which ran and why. exec takes no
other option: the cage's (-p, --root, …) were given to 'wgcage up'. Put '--'
before a CMD that starts with '-'. Started by the npm
package's wgcage, exec and CMD end when the process that started it ends,
as a run does (WGCAGE_DIE_WITH_PARENT=0 turns that off).

  wgcage exec ci -- curl https://example.com
`,
  down: `Usage: wgcage down NAME

Ends the live cage NAME and everything running in it.
`,
  ls: `Usage: wgcage ls [--json]

Lists your live cages: name, keeper pid, tunnel, addresses.
`,
  show: `Usage: wgcage show [NAME] [--json]

Per peer of the live cage NAME (of every live cage without NAME): endpoint,
latest handshake, transfer, keepalive, AllowedIPs; and the packets the tunnel
dropped, by reason.
`,
  set: `Usage: wgcage set NAME ARGS...

Changes the live cage NAME in 'wg set' syntax (peers, AllowedIPs, endpoint,
keepalive, keys), e.g.

  wgcage set ci peer KEY allowed-ips 10.0.0.0/24
`,
  syncconf: `Usage: wgcage syncconf NAME FILE

Applies the differences of the wg-quick FILE (peers and keys) to the live
cage NAME without tearing its tunnel down, as 'wg syncconf' does.
`,
  wg: `Usage: wgcage wg NAME ARGS...

Runs the system 'wg' against the live cage NAME, rootless too, e.g.

  wgcage wg ci show
`,
  genkey: `Usage: wgcage genkey

Prints a new private key (base64), as 'wg genkey' does. Others must not read
the file it goes to:

  (umask 077; wgcage genkey > private.key)
`,
  genpsk: `Usage: wgcage genpsk

Prints a new preshared key (base64), as 'wg genpsk' does. Others must not
read the file it goes to:

  (umask 077; wgcage genpsk > psk.key)
`,
  pubkey: `Usage: wgcage pubkey < private.key

Reads a private key on standard input and prints its public key, as
'wg pubkey' does.
`,
  demo: `Usage: wgcage demo [-v]

Starts two cages on this machine that talk through a WireGuard tunnel over
127.0.0.1, and says what happens; -v says what wgcage does, on stderr.
`,
  version: `Usage: wgcage version

Prints wgcage's version and the Deno it runs on.
`,
  serve: `Usage: wgcage serve --private-key-file FILE [OPTIONS]

A WireGuard server, as an ordinary user: its device is a live cage (NAME,
'serve' by default: 'wgcage show serve'), clients' traffic leaves through
the host's network with the host's address (pasta, from the passt package),
and clients reach the server (the subnet's first address) and each other.

  --endpoint HOST:PORT  what clients are told to connect to
  --subnet CIDR         the clients' IPv4 subnet (default 10.200.0.0/24); given
                        again with an IPv6 prefix (fd00:200::/64), each client
                        also gets its host number's address there
  --listen-port N       UDP port (default 51820)
  --name NAME           the live cage's name (default serve)
  --no-egress           a hub only: clients reach the server and each other
  --api ADDR:PORT       the provisioning API (HTTPS; a self-signed certificate
                        is made and kept in the state directory, and its
                        SHA-256 printed), with a token from
  --token-file FILE | --token-env VAR   (never a flag: 'ps' shows flags)
  --tls-cert FILE --tls-key FILE        the API's certificate instead
  --insecure-http       plain HTTP (warns: the token crosses in clear)
  --state-dir DIR       registered clients and the certificate (default
                        ~/.local/state/wgcage/serve-NAME; as root
                        /var/lib/wgcage/serve-NAME)
  --forward [ADDR:]PORT:CLIENT_PUBLIC_KEY:PORT[/udp]
                        a port of this host (on ADDR, 0.0.0.0 by default)
                        relayed to the client's port through the tunnel
                        (repeatable; the client must be registered)
  -v, --verbose         say each step

  wgcage serve --private-key-file server.key --endpoint vpn.example.com:51820 \\
    --api 0.0.0.0:8443 --token-file token
`,
  server: `Usage: wgcage server add NAME URL --token-file FILE [--fingerprint SHA256]
       wgcage server ls | export NAME | rm NAME

Servers run with 'wgcage serve', joined by name. 'add' checks the token and
pins the API's certificate: the SHA-256 that 'serve' printed, or, without
--fingerprint, the one it sees first (with a warning). The token, the
certificate and this machine's key are kept under ~/.config/wgcage/servers/
(0700; files 0600). Then:

  wgcage --server NAME -- CMD     the first use makes a key and registers it
  wgcage up CAGE --server NAME    a live cage through the server

'export' prints the wg-quick config (registering first if needed); 'rm'
unregisters this machine and forgets the server.
`,
  help: `Usage: wgcage help [TOPIC | SUBCOMMAND]

Topics: config, exit, cage, ports, live. A subcommand's name gives its usage,
as 'wgcage SUBCOMMAND --help' does.
`,
};

/** The help of one subcommand; undefined for anything else. */
export function commandHelp(name: string): string | undefined {
  return Object.hasOwn(HELP, name) ? HELP[name] : undefined;
}
