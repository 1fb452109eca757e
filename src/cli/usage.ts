/**
 * The help text: `wgcage help`, `wgcage --help`, and `wgcage help TOPIC`.
 *
 * @module
 */

import { commandHelp } from "./command_help.ts";

export { HELP_TOPICS } from "./help_topics.ts";

/** The main help text (also shown on stderr when wgcage runs without arguments). */
export const USAGE = `wgcage: run a command whose only network is a WireGuard tunnel

Usage:
  wgcage [OPTIONS] [--] CMD [ARGS...]  run CMD in a cage
  wgcage genkey | genpsk               print a new private / preshared key
  wgcage pubkey                        print the public key of the key on stdin
  wgcage up NAME [-d] [--rm-when-idle] [OPTIONS]
                                       a named cage that stays; -d: in the
                                       background once the handshake is done;
                                       --rm-when-idle: it ends with its last
                                       command
  wgcage exec NAME [--] CMD [ARGS...]  run CMD in the live cage NAME
  wgcage down NAME | ls [--json]       end a live cage | list the live ones
  wgcage show [NAME] [--json]          its peers, handshakes and transfer
  wgcage set NAME ... | syncconf NAME FILE | wg NAME ARGS...
                                       change it as 'wg set' / 'wg syncconf'
                                       do; run the system wg against it
                                       (see 'wgcage help live')
  wgcage serve --private-key-file FILE [OPTIONS]
                                       a WireGuard server, exit and hub, with
                                       an API (see 'wgcage help serve')
  wgcage server add | ls | export | rm  servers joined by name ('help server')
  wgcage demo [-v]                     show a cage talking to a local peer
  wgcage version
  wgcage help [config | exit | cage | ports | live | SUBCOMMAND]
                                       also: wgcage SUBCOMMAND --help

Examples:
  wgcage --config wg.conf -- ip a
  wgcage --config-env WG_CONF -- npm test

Config (a wg-quick file; flags override it, see 'wgcage help config'):
  --config FILE               read FILE; '-' reads stdin; a bare name such as
                              wg0, when no file here has it, reads
                              /etc/wireguard/wg0.conf (as wg-quick does)
  --config-env VAR            read the config text from environment variable VAR
  --server NAME               the config of a server added with 'wgcage server
                              add' (its first use registers this machine)

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
                              wait for the first handshake (default 10; 0: no);
                              a failure says: port unreachable (at once), did
                              not authenticate (PresharedKey), or no answer
  --tun-name NAME             interface name (default: wg1 for wg1.conf, or wg0)
  --hostname NAME             the cage's host name
  --root                      run CMD as uid/gid 0 of the cage, with
                              capabilities only over the cage's own namespaces
                              (default: as you; see 'wgcage help cage')
  --no-userns                 as root only, and NO BOUNDARY: the cage gets no
                              user namespace, CMD keeps root's capabilities
                              over the host and can leave the cage; for hosts
                              that refuse a user namespace even to root (a
                              container's seccomp profile)
  --hide-sockets              hide every host unix socket under /run, /tmp and
                              $XDG_RUNTIME_DIR, not only name services'
  --keep-socket PATH          let CMD reach the host socket PATH (repeatable)
  --die-with-parent           end wgcage, and the cage with it, when the
                              process that started wgcage ends (the npm
                              package's wgcage does this unless
                              WGCAGE_DIE_WITH_PARENT=0)

Between host and cage (nothing by default; see 'wgcage help ports'):
  -p, --publish [HOST_ADDR:]HOST_PORT:CAGE_PORT[/tcp|/udp]
                              a port of the cage's loopback, reachable on the
                              host at HOST_ADDR (default 127.0.0.1):HOST_PORT
                              (repeatable)
  --host-service [HOST_ADDR:]PORT[=CAGE_PORT]
                              one TCP service of the host, reachable in the
                              cage at 127.0.0.1:CAGE_PORT (host.wgcage.internal)
                              (repeatable); a deliberate hole

For programs that stay on the host (see 'wgcage help ports'):
  -L, --local-forward [HOST_ADDR:]HOST_PORT:TUNNEL_HOST:PORT[/tcp|/udp]
                              HOST_ADDR:HOST_PORT on the host (127.0.0.1
                              unless given) leads to TUNNEL_HOST:PORT through
                              the tunnel (repeatable)
  --socks [HOST_ADDR:]PORT    a SOCKS5 proxy into the tunnel (socks5h)
  --socks-auth FILE           its login: USERNAME:PASSWORD, FILE's first line
  --http-proxy [HOST_ADDR:]PORT
                              an HTTP proxy into the tunnel (CONNECT, http://)

  -v, --verbose               say what wgcage does, on stderr, and where
                              its start-up went (ms a phase)
  -h, --help                  show this help
  -V, --version               show the version

wgcage's options end at the first word that is not an option: that word and
the rest are CMD's, even a word named like a subcommand ('wgcage --config c.conf
ls /tmp' runs ls in a cage; a subcommand comes first, its options after it).
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
  MTU = 1420                             # 576..9000; IPv6 needs 1280+
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
DNS servers go into the cage's resolv.conf with 'options timeout:2 attempts:2',
so a server that never answers fails a lookup in about 4 s (glibc's default
is 10 s a query) and -v names it; one outside every AllowedIPs gets a warning
(no route).
An MTU below 1280 carries no IPv6 (the kernel takes it off the link): IPv6
addresses and AllowedIPs (the default ::/0 too) are left out of the cage, with
one warning, so IPv4 still works; with IPv6 addresses only, it is refused.

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

CMD's own 125, 126 or 127 pass through as they are (as with 'docker run' and
'env'), so they look like wgcage's. To tell them apart: each of wgcage's
(CMD that cannot be found or run included) comes with one line on stderr
that starts with 'wgcage: ' and names the cause; CMD's own come with
whatever CMD printed. With -v, wgcage also says "starting the command" just
before CMD runs.

Signals sent to wgcage (INT, TERM, HUP, QUIT, USR1, USR2, WINCH) are passed on
to CMD while it runs. Before it runs, INT, TERM and HUP stop wgcage (130, 143,
129) and USR1 is ignored. When CMD exits, everything it left running in the
cage ends too.
`;

const CAGE_HELP = `Who CMD runs as, and what of the host it can reach:

  wgcage (not root)   CMD runs as you, in a user namespace of its own, with
                      no capabilities
  sudo wgcage         CMD runs as the user who ran sudo, with that user's
                      groups; root only sets the cage up
  wgcage as root      (no SUDO_UID) CMD runs as root of the cage, as with --root

  --root              CMD runs as uid/gid 0 of the cage, with capabilities only
                      over the cage's own namespaces. Rootless, the files it
                      makes on the host belong to you, and under sudo too
                      (uid 0 of the cage is you on the shared file system);
                      as root without sudo, every id maps to itself and uid 0
                      is the host's root there. It has no CAP_SYS_ADMIN, so it
                      cannot undo the cage's mounts (the covers over host
                      sockets below), no CAP_SYS_PTRACE, so it cannot take
                      over the cage's init, and no_new_privs holds: setuid
                      programs cannot raise it.
  --no-userns         As root only. NO BOUNDARY: the cage gets no user
                      namespace, so CMD keeps root's capabilities over the host
                      and can leave the cage. Only for hosts that refuse a user
                      namespace even to root (a container's seccomp profile).

The cage shares the host's file system, and a unix socket file on it leads to
whatever daemon listens there, outside the tunnel. (The host's abstract unix
sockets are out of reach already: they belong to the host's network namespace.)

  by default          the directories of the host's name services are covered
                      with an empty one, so that no lookup leaves outside the
                      tunnel: nscd (glibc asks it before nsswitch.conf),
                      systemd-resolved, avahi, and the system D-Bus, through
                      which both also answer; a daemon restarting meanwhile
                      stays hidden; and, so that no command in a cage reaches
                      a control socket, the live cages' state directory and
                      /var/run/wireguard
  key files           every file wgcage read a key from (--config FILE,
                      --wg-private-key-file, --wg-psk-file; the file behind a
                      symlink too) reads as empty in the cage, and writes to
                      it go nowhere; another hard link to it is not covered
  --hide-sockets      also covers every other socket file under /run, /tmp and
                      $XDG_RUNTIME_DIR, up to 8 levels deep: the user's D-Bus,
                      docker.sock, ssh and gpg agents, X11, socket proxies
  --keep-socket PATH  leaves the socket PATH reachable (repeatable); PATH must
                      be a socket, and cannot be a name service's or a live
                      cage's

Capturing the tunnel's packets with tcpdump: as root with --root,
'tcpdump -i wg0' works in the cage; under sudo, with --root, run
'tcpdump -Z root -i wg0': tcpdump, started as uid 0 of the cage, switches to
its own user 'tcpdump', whose id a sudo cage does not map. Rootless it does
not work: that switch fails the same way, and -Z root fails at setgroups,
which a rootless user namespace refuses; without --root CMD has no
CAP_NET_RAW. Capture from the host instead, into the cage's network
namespace, with the pid of any process in it:
  sudo nsenter --net=/proc/PID/ns/net tcpdump -i wg0

A socket that a daemon creates after the cage started, outside those
directories, is not covered. Without --hide-sockets, --keep-socket changes
nothing but for the system bus's socket, and wgcage warns.

CMD gets wgcage's environment as it is (as with bubblewrap or 'sudo -E').
Proxy variables in it (http_proxy, https_proxy, ftp_proxy, all_proxy, in any
case) send CMD's web traffic to that proxy, which then leaves from wherever
the proxy is (one on the host's loopback is out of reach); wgcage names them
in a warning. Leave them out with env: env -u https_proxy wgcage …
`;

const PORTS_HELP = `Nothing crosses between the host and the cage but the tunnel, unless asked:

  -p [HOST_ADDR:]HOST_PORT:CAGE_PORT[/tcp|/udp]
      wgcage listens on HOST_ADDR:HOST_PORT on the host (127.0.0.1 unless
      given; [::1] for IPv6) and relays each TCP connection, or each UDP
      client's datagrams, to CAGE_PORT on the cage's loopback (127.0.0.1, or
      ::1 when nothing listens on 127.0.0.1). The cage's side of each
      connection is made inside the cage: no route joins the two, and CMD's
      own traffic still leaves only through the tunnel. A TCP half-close and
      a reset reach the other side; a UDP client's flow ends after 60 s
      without a datagram. Anyone who can connect to HOST_ADDR:HOST_PORT on
      the host reaches the cage's server: 0.0.0.0 opens it to the network.

      wgcage -p 8080:8000 --config wg.conf -- python3 -m http.server 8000
      wgcage -p 5353:5353/udp -p [::1]:8443:8443 --config wg.conf -- ./server

  --host-service [HOST_ADDR:]PORT[=CAGE_PORT]
      A deliberate hole: CMD reaches the host's TCP service HOST_ADDR:PORT
      (127.0.0.1 unless given) at 127.0.0.1:CAGE_PORT in the cage (PORT
      unless given), also named host.wgcage.internal in the cage's
      /etc/hosts. That one port and nothing else: every other port and
      address of the host stays out of reach. The listening socket exists
      before CMD starts. A cage port below 1024 needs --root (or root).

      wgcage --host-service 5432 --config wg.conf -- \\
        psql -h host.wgcage.internal

-p reaches the cage's loopback only: a server in the cage must listen on
127.0.0.1 (or ::1), or on all addresses (0.0.0.0, ::). One bound to the
cage's tunnel address alone (e.g. 10.0.0.2) is reached by the tunnel's peers
but not by -p, whose connections come from the cage's loopback.

  -L [HOST_ADDR:]HOST_PORT:TUNNEL_HOST:PORT[/tcp|/udp]
  --socks [HOST_ADDR:]PORT
  --http-proxy [HOST_ADDR:]PORT
      The tunnel for a program that stays on the host (a browser, a database
      client): wgcage listens on the host (127.0.0.1 unless given) and makes
      each connection, or each UDP flow of -L /udp, from inside the cage, so
      it leaves only through the tunnel. A name (TUNNEL_HOST, socks5h, a
      proxy's URL) is resolved with the cage's DNS, never on the host; a
      destination the tunnel does not route gets the proxy's error. The
      SOCKS proxy takes CONNECT and UDP ASSOCIATE, and a login with
      --socks-auth FILE (its first line USERNAME:PASSWORD); the HTTP proxy
      CONNECT and http:// URLs.
      Only that program's connections through them use the tunnel: the rest
      of what it does stays on the host's network, unlike a caged command.
      Anyone who can connect to the listening address can use the tunnel:
      beyond loopback, wgcage warns.

      wgcage up work -d --config wg.conf --socks 1080 -L 15432:db.internal:5432
      chromium --proxy-server=socks5://127.0.0.1:1080 &
      psql -h 127.0.0.1 -p 15432

All of them work for a live cage too ('wgcage up NAME -p …'): for every
command that joins it, or with no command at all for -L and the proxies. A
host port in use, a privileged host port without root and a malformed option
stop wgcage with 125 before the cage is made. A connection to a
published port that nothing in the cage listens on is reset; -v says why.
`;

const LIVE_HELP = `A live cage is a named cage that stays up: its tunnel, handshake and identity
are shared by every command that joins it (several CI steps, one session).

  wgcage up NAME [-d] [--rm-when-idle] [OPTIONS]
      Starts the cage NAME with the run options (--config, --wg-*, --root,
      -p, -L, --socks, …; no command: with -L or a proxy, the tunnel serves
      host programs too). Without -d it stays in the foreground until Ctrl-C
      or 'wgcage down NAME'; with -d it returns once the first handshake
      completed (its errors and status as for a run) and a keeper process
      holds the cage. A name in use is refused; names are 1-15 of
      A-Z a-z 0-9 _=+.- (the interface name 'wg' shows).
      --die-with-parent (foreground only): the cage ends when the process
      that started 'up' ends, as a run's does.
      --rm-when-idle: the cage ends when the last command that joined it
      ends (a reference count of the 'wgcage exec' commands inside; the cage
      stays until the first one has come).
  wgcage exec NAME [--] CMD [ARGS...]
      Runs CMD in the cage: its network, its /etc files, a PID namespace of
      its own inside the cage's (what CMD leaves behind ends with it, as in a
      run), as you (as root through sudo: as the sudo user, with their
      groups), with the exit status, signals and terminal of a run, and
      without the variable 'up --config-env' read. The cage's namespaces
      come from its keeper; a keeper that does not answer within 10 s is an
      error (125), and Ctrl-C or SIGTERM end the wait at once.
  wgcage down NAME        ends the cage and everything running in it: a
                          foreground 'up' then exits 0 (as on Ctrl-C or
                          SIGTERM), and each 'wgcage exec' into it prints one
                          line saying the cage was ended and exits 137 (its
                          command was killed), as 'podman exec' does
  wgcage ls [--json]      the live cages: name, keeper pid, tunnel, addresses
  wgcage show [NAME] [--json]
      Per peer: endpoint, latest handshake, transfer, keepalive, AllowedIPs;
      and the packets the tunnel dropped, by reason (replay, decrypt failed,
      no route, source not allowed, …).
  wgcage set NAME ARGS…   changes it in 'wg set' syntax, e.g.
                          wgcage set ci peer KEY allowed-ips 10.0.0.0/24
                          (peers, AllowedIPs (the cage's routes follow),
                          endpoint, keepalive, preshared key, private key)
  wgcage syncconf NAME FILE
      Applies a wg-quick file's differences (peers and keys; Address, DNS,
      MTU and hooks are left out) without tearing the tunnel down: a
      peer that stays keeps its session through changes of its preshared
      key (used from the next handshake), keepalive, AllowedIPs and endpoint.
      A file without ListenPort keeps the cage's port, so the file the cage
      started from syncs as it is; a different ListenPort is refused.
  wgcage wg NAME ARGS…    runs the system 'wg' against the cage, rootless too:
                          wgcage wg ci show, wgcage wg ci showconf
  set, syncconf and wg run the system 'wg' (wireguard-tools; rootless also
  'unshare' and 'mount' from util-linux): a missing one is named in one line
  (125). Key files and configs are checked by wgcage before 'wg' reads them
  (a malformed key is refused without showing any of it), and a failure of
  'wg' is one line too (125), not its own text and status 1.

State: each cage is recorded in $XDG_RUNTIME_DIR/wgcage/ (as root:
/run/wgcage/; with XDG_RUNTIME_DIR unset, as under su, cron or 'sudo -u',
/tmp/wgcage-UID, as tmux and podman fall back, refused unless it is yours,
mode 0700 and no symlink; 'wgcage ls' says which), a directory of mode 0700
owned by you: NAME.json (what 'ls' shows) and NAME.sock, the control socket,
which answers WireGuard's userspace API (get=1, set=1) as wireguard-go does
and hands 'exec' the cage's namespaces (a pid in NAME.json is never trusted).
Only you can see, reach or join your cages: another user's client is refused
even given the socket, and so is any process in a cage, yours too: the
socket serves only the keeper's own network namespace, and every cage covers
the state directory. As root the socket is also linked at
/var/run/wireguard/NAME.sock, so the stock 'wg show NAME', 'wg set NAME …'
and 'wg syncconf NAME FILE' work (from that network namespace). When the
keeper is killed (kill -9) the cage and its commands end with
it, and the next wgcage command removes what it left.

A cage holds up to 1,024 peers and 65,536 AllowedIPs prefixes (32,768 for
one peer; each is a route in the cage): a set=1 that would go over changes
nothing and answers errno=-28, which wg prints as "No space left on device".
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
    case "cage":
      return CAGE_HELP;
    case "ports":
      return PORTS_HELP;
    case "live":
      return LIVE_HELP;
    default:
      return commandHelp(topic);
  }
}
