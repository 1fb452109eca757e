/**
 * Whether a process of the cage can make the init resume the command's group:
 * a Python script stops a child of its own, sends the init's resume signal
 * in its own way, and says whether the child was continued. Run under a
 * job-control shell in a real pty, since only then does the init take the
 * resume signal at all.
 *
 * Needs script, bash and python3.
 *
 * @module
 */

import { assertEquals } from "./assert.ts";
import { DriverEnv, requireTool, type Who } from "./harness.ts";
import { quote, underPty } from "./pty.ts";

/**
 * The probe's Python source: `send` (Python lines, with `os`, `signal`,
 * `time` and `libc` at hand) must set `rc`; then the script prints
 * "`marker` rc continued" or "`marker` rc still-stopped".
 */
export function resumeProbe(marker: string, send: string, imports = ""): string {
  return `
import ctypes, os, signal, time${imports}
pid = os.fork()
if pid == 0:
    os.kill(os.getpid(), signal.SIGSTOP)
    time.sleep(30)
    os._exit(0)
os.waitpid(pid, os.WUNTRACED)
libc = ctypes.CDLL(None, use_errno=True)
${send.trim()}
time.sleep(1)
_, status = os.waitpid(pid, os.WNOHANG | os.WCONTINUED)
print("${marker}", rc, "continued" if os.WIFCONTINUED(status) else "still-stopped", flush=True)
os.kill(pid, signal.SIGKILL)
`;
}

/**
 * Runs `probe` (from {@linkcode resumeProbe}) in a cage of `who` under an
 * interactive bash in a pty; resolves with its line (trimmed), after the
 * shell exits 0.
 */
export async function runResumeProbe(who: Who, probe: string, marker: string): Promise<string> {
  requireTool("script");
  requireTool("bash");
  requireTool("python3");
  const env = await DriverEnv.create(who);
  const pty = underPty(env, "bash --norc --noprofile -i");
  try {
    const line = env.args({}, ["/usr/bin/python3", "-c", probe]).map(quote).join(" ");
    await pty.type(`${line}\n`);
    const result = (await pty.out.waitFor(new RegExp(`^${marker} `), 20000)).trim();
    await pty.type("exit 0\n");
    assertEquals((await pty.status).code, 0);
    return result;
  } finally {
    await pty.close();
    await env.close();
  }
}
