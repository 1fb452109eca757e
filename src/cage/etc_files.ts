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
    const write = async (name: string, text: string) => {
      const path = `${dir}/${name}`;
      await Deno.writeTextFile(path, text, { mode: 0o644 });
      await Deno.chmod(path, 0o644); // the umask may have narrowed it
      return path;
    };
    return {
      dir,
      resolvConfPath: await write("resolv.conf", files.resolvConf),
      hostsPath: await write("hosts", files.hosts),
      nsswitchConfPath: await write("nsswitch.conf", files.nsswitchConf),
      remove,
    };
  } catch (e) {
    await remove();
    throw e;
  }
}
