/**
 * The init's resume signal cannot be forged from inside the cage. wgcage
 * asks the init to resume the command's group (and hand it the terminal's
 * foreground) with a signal from outside the cage's PID namespace. A process
 * of the cage may queue that signal to PID 1 itself with rt_sigqueueinfo,
 * which lets the sender write si_code (SI_QUEUE) and si_pid (0, as a sender
 * outside the namespace reads) as it likes: the init must still refuse it, or
 * a process left running after Ctrl-Z takes the terminal from the user's
 * shell and reads what is typed there.
 *
 * Needs root (the cage's driver), script, bash and python3.
 *
 * @module
 */

import { assertEquals } from "./cage/assert.ts";
import { resumeProbe, runResumeProbe } from "./cage/resume_probe.ts";

/**
 * Queues the resume signal to PID 1 with a hand-made siginfo: SI_QUEUE,
 * si_pid 0, si_value 1 ("has the foreground").
 */
const FORGED_RESUME = resumeProbe(
  "forged-resume",
  `
sig = signal.SIGRTMIN + 4
SI_QUEUE = -1
# x86_64 and aarch64 siginfo: signo, errno, code, pad; pid, uid; sigval.
info = struct.pack("iiiiiIq", sig, 0, SI_QUEUE, 0, 0, os.getuid(), 1).ljust(128, b"\\0")
buf = ctypes.create_string_buffer(info, 128)
rc = libc.syscall(129 if os.uname().machine == "x86_64" else 138, 1, sig, buf)
`,
  ", struct",
);

for (const who of ["root", "nobody"] as const) {
  Deno.test(`cage (${who}): a forged resume signal (si_pid 0, SI_QUEUE) from a process of the cage does not resume the command's group`, async () => {
    const result = await runResumeProbe(who, FORGED_RESUME, "forged-resume");
    assertEquals(result, "forged-resume 0 still-stopped");
  });
}
