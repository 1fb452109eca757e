/**
 * wgcage's own memory kept to itself: before the config and its keys are
 * read, the process becomes non-dumpable with a core size limit of 0
 * (launcher/protect.c), so no core file holds a key and only a process with
 * CAP_SYS_PTRACE can read its memory.
 *
 * @module
 */

import { launcher, prepareLauncher } from "../launcher/library.ts";
import { CageError, EXIT_REFUSED } from "./error.ts";
import { describeErrno } from "../launcher/errno.ts";

/** Makes wgcage non-dumpable; throws {@linkcode CageError} (125) when the kernel refuses. */
export async function protectProcess(): Promise<void> {
  await prepareLauncher();
  const rc = launcher().wgl_process_protect();
  if (rc < 0) {
    throw new CageError(
      `wgcage: Cannot keep wgcage's memory private (no core dumps): ${describeErrno(-rc)}; ` +
        "this Linux refuses prctl(PR_SET_DUMPABLE) or setrlimit(RLIMIT_CORE)",
      EXIT_REFUSED,
    );
  }
}
