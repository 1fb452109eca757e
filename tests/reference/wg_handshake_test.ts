/**
 * Ties the Rust handshake's known answers to the independent Python
 * reference (tests/reference/wg_handshake.py), and that reference to the
 * real wireguard-go. Together: the bytes wasm/src/noise.rs and
 * wasm/src/cookie.rs are tested against are bytes wireguard-go accepts.
 *
 * Needs python3 with python3-cryptography; the interop test also needs
 * root, `ip`, `wg` and `wireguard-go`, and fails (not skips) without them.
 */

const root = new URL("../../", import.meta.url);
const script = new URL("tests/reference/wg_handshake.py", root).pathname;

async function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    throw new Error(`Cannot run ${cmd}: ${e instanceof Error ? e.message : e}; install it`);
  }
  const text = new TextDecoder();
  return {
    code: output.code,
    out: text.decode(output.stdout) + text.decode(output.stderr),
  };
}

/** `pub const NAME: type = value;` in Rust text (values may be wrapped onto the next line). */
function constantsIn(text: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of text.matchAll(/pub const (\w+): [^=]+=\s*("[0-9a-f]*"|0x[0-9a-f]+);/g)) {
    found.set(m[1], m[2]);
  }
  return found;
}

async function requireTool(name: string): Promise<void> {
  const { code } = await run("sh", ["-c", `command -v ${name}`]);
  if (code !== 0) {
    throw new Error(
      `This test needs "${name}" on PATH; install it (Debian: apt-get install ${name})`,
    );
  }
}

Deno.test("Rust handshake known answers are exactly the Python reference's output", async () => {
  const { code, out } = await run("/usr/bin/python3", [script, "--rust"]);
  if (code !== 0) throw new Error(`wg_handshake.py --rust failed: ${out}`);
  const rust = await Deno.readTextFile(new URL("wasm/src/noise.rs", root));
  const want = constantsIn(out);
  const got = constantsIn(rust);
  if (want.size < 20) throw new Error(`Expected 20+ constants from the reference, got:\n${out}`);
  const differing = [...want].filter(([name, value]) => got.get(name) !== value);
  if (differing.length > 0) {
    throw new Error(
      `wasm/src/noise.rs (mod kat) differs from the reference; paste the output of ` +
        `"python3 tests/reference/wg_handshake.py --rust" into it. Differing: ` +
        differing.map(([name]) => name).join(", "),
    );
  }
});

Deno.test("wireguard-go accepts the reference initiation and the keys derived from its response", async () => {
  if (Deno.uid() !== 0) {
    throw new Error("This test needs root (it creates a network namespace); run it with sudo");
  }
  for (const tool of ["ip", "wg", "wireguard-go", "/usr/bin/python3"]) await requireTool(tool);
  const { code, out } = await run("timeout", ["60", "/usr/bin/python3", script, "--interop"]);
  if (code !== 0 || !out.includes("interop ok")) {
    throw new Error(`wg_handshake.py --interop failed (exit ${code}):\n${out}`);
  }
});
