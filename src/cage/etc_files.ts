/**
 * The generated /etc files of a cage, written to a private temp directory
 * before the clone and removed when the cage is closed.
 *
 * @module
 */

/** Contents of the files laid over the host's /etc in the cage. */
export interface EtcFiles {
  readonly resolvConf: string;
  readonly hosts: string;
  readonly nsswitchConf: string;
}

/** Where the files were written. */
export interface WrittenEtcFiles {
  readonly dir: string;
  readonly resolvConfPath: string;
  readonly hostsPath: string;
  readonly nsswitchConfPath: string;
  /** Removes the directory and the files; safe to call twice. */
  remove(): Promise<void>;
}

/** Writes the files (mode 0644) into a new 0700 temp directory. */
export async function writeEtcFiles(files: EtcFiles): Promise<WrittenEtcFiles> {
  const dir = await Deno.makeTempDir({ prefix: "wgcage-etc-" });
  let removed = false;
  const remove = async () => {
    if (removed) return;
    removed = true;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    // Synchronous: three small files, and Deno's async writeTextFile loads
    // its streams implementation on first use (~4 ms of start-up).
    const write = (name: string, text: string) => {
      const path = `${dir}/${name}`;
      Deno.writeTextFileSync(path, text, { mode: 0o644 });
      Deno.chmodSync(path, 0o644); // the umask may have narrowed it
      return path;
    };
    return {
      dir,
      resolvConfPath: write("resolv.conf", files.resolvConf),
      hostsPath: write("hosts", files.hosts),
      nsswitchConfPath: write("nsswitch.conf", files.nsswitchConf),
      remove,
    };
  } catch (e) {
    await remove();
    throw e;
  }
}
