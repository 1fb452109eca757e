/**
 * The live cages' state directories that every cage covers (runs and live
 * cages alike), so that no caged command reaches a control socket or a
 * record (host_sockets.ts covers them with an empty tmpfs).
 *
 * A cover is laid on a directory that exists when the cage is made. The
 * state directory is therefore made beforehand (0700, as `wgcage up` makes
 * it) and stays once made: were it removed with its last cage and made anew
 * by the next `wgcage up`, a cage started in between would see the new one
 * uncovered (its cover goes when the host removes the directory). The
 * other choice, covering its parent ($XDG_RUNTIME_DIR, or /run as root),
 * would take the user bus, an SSH agent or every daemon's socket away from
 * every cage; podman likewise keeps its runtime directory once made.
 *
 * @module
 */

import { ensureStateDir, fallbackStateDir, stateDir } from "./state.ts";

/**
 * The state directories to cover: this user's (made when missing), the
 * other places this user's cages may be kept (`/tmp/wgcage-UID`, used by a
 * `wgcage up` started without XDG_RUNTIME_DIR, and a login session's
 * `/run/user/UID/wgcage`; the launcher skips a path that does not exist;
 * an XDG_RUNTIME_DIR elsewhere is covered only by the cages started with
 * it), and, as root under sudo, the invoking user's (the
 * command then runs as that user, who could reach their own live cages'
 * sockets there).
 */
export function stateDirsToCover(env = Deno.env, passwd = readPasswd): string[] {
  const dirs: string[] = [];
  try {
    dirs.push(ensureStateDir());
  } catch {
    // Not ours, or nowhere to make it: still covered where it is, if it is.
    try {
      dirs.push(stateDir());
    } catch {
      // No state directory for this user: no live cage to reach.
    }
  }
  const uid = Deno.uid();
  if (uid !== null && uid !== 0) {
    // A login session's (systemd-logind's $XDG_RUNTIME_DIR) too: a run
    // started without XDG_RUNTIME_DIR (cron, su, a service) keeps its state
    // in /tmp/wgcage-UID, but must not reach the cages `wgcage up` made from
    // a login shell, whose sockets the stock `wg` trusts by their path.
    dirs.push(fallbackStateDir(uid), `/run/user/${uid}/wgcage`);
  }
  const sudoUid = env.get("SUDO_UID");
  if (uid === 0 && sudoUid !== undefined && /^[1-9][0-9]{0,9}$/.test(sudoUid)) {
    // Where a login session puts the user's $XDG_RUNTIME_DIR (systemd-logind),
    // and where that user's cages go without it.
    dirs.push(`/run/user/${sudoUid}/wgcage`, fallbackStateDir(Number(sudoUid)));
    // The invoking user's servers too: the command runs as that user, who
    // can read their own tokens and keys, while sudo's HOME is root's.
    // Their XDG_CONFIG_HOME is unknown here (sudo drops it), so the
    // default place under their home.
    const home = homeOf(Number(sudoUid), passwd);
    if (home !== undefined) dirs.push(`${home}/.config/wgcage/servers`);
  }
  // The servers joined by name hold API tokens and keys (serve/remote_store.ts).
  const servers = serversDir(env);
  if (servers !== undefined) dirs.push(servers);
  return [...new Set(dirs)];
}

function readPasswd(): string {
  try {
    return Deno.readTextFileSync("/etc/passwd");
  } catch {
    return "";
  }
}

/**
 * The home directory of `uid` in passwd(5) text, or undefined. /etc/passwd
 * only (no NSS lookup at each cage's start): a user known only through a
 * directory service (sssd, LDAP) has no home here, and under sudo only
 * their state directories are covered.
 */
export function homeOf(uid: number, passwd: () => string): string | undefined {
  for (const line of passwd().split("\n")) {
    const f = line.split(":");
    if (f.length >= 7 && f[2] === String(uid) && f[5].startsWith("/") && f[5] !== "/") {
      return f[5].replace(/\/+$/, "");
    }
  }
  return undefined;
}

/**
 * Where `wgcage server add` keeps servers: $XDG_CONFIG_HOME/wgcage/servers,
 * else ~/.config/wgcage/servers. Every cage covers it (when it exists), as
 * the state directories: a caged command must not take the tokens or the
 * keys in it.
 */
export function serversDir(env = Deno.env): string | undefined {
  const xdg = env.get("XDG_CONFIG_HOME");
  const home = env.get("HOME");
  if (xdg !== undefined && xdg.startsWith("/")) return `${xdg}/wgcage/servers`;
  return home !== undefined && home.startsWith("/") ? `${home}/.config/wgcage/servers` : undefined;
}
