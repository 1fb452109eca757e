import { strictEqual } from "node:assert";

const MODULE = new URL("./stderr_line.ts", import.meta.url).href;

/**
 * What a fresh process writes to stderr and stdout with `stderrLine(LINE)`
 * (then "done" on stdout), LINE being the JavaScript expression `line`.
 */
async function written(line: string, stderr: "piped" | "null" = "piped") {
  const script = `import { stderrLine } from ${JSON.stringify(MODULE)};\n` +
    `stderrLine(${line});\nconsole.log("done");\n`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", "--no-lock", script],
    stdout: "piped",
    stderr,
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: stderr === "piped" ? new TextDecoder().decode(out.stderr) : "",
  };
}

Deno.test("stderrLine writes the line and a newline to stderr, as console.error writes a string", async () => {
  const line = "wgcage: warning: 100% of 'x' %s %c \u00e9";
  const out = await written(JSON.stringify(line));
  strictEqual(out.stderr, `${line}\n`);
  strictEqual(out.stdout, "done\n");
});

Deno.test("stderrLine writes a line longer than a pipe holds whole", async () => {
  const out = await written(`"x".repeat(300_000)`);
  strictEqual(out.stderr, `${"x".repeat(300_000)}\n`);
});

Deno.test("stderrLine to a stderr whose reader went away loses the line and goes on", async () => {
  // The child writes once the pipe's reader is gone: a broken pipe (EPIPE).
  const script = `import { stderrLine } from ${JSON.stringify(MODULE)};\n` +
    `await new Promise((r) => setTimeout(r, 500));\nstderrLine("lost");\nconsole.log("done");\n`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", "--no-lock", script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await child.stderr.cancel();
  const out = await child.output();
  strictEqual(out.code, 0);
  strictEqual(new TextDecoder().decode(out.stdout), "done\n");
});
