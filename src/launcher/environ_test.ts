import { deepStrictEqual, strictEqual } from "node:assert";
import { launcher, prepareLauncher } from "./library.ts";

const ENVIRON = new URL("./environ.ts", import.meta.url).href;

/** Runs `script` in a fresh Deno with `env` added; returns what it printed as JSON. */
async function inFreshProcess(
  script: string,
  env: Record<string, string>,
): Promise<Record<string, unknown>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", `import { takeEnvironmentVariable } from "${ENVIRON}";\n${script}`],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  strictEqual(output.code, 0, stderr);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

const SECRET = "PrivateKey = c2VjcmV0LXZhbHVlLW5vYm9keS1lbHNlLXNlZXMtaXQtaGVyZQ==";

Deno.test("a taken variable is gone from the environment, /proc/self/environ, and what children inherit", async () => {
  const seen = await inFreshProcess(
    `
    const value = await takeEnvironmentVariable("WGC_TEST_SECRET");
    const environ = Deno.readTextFileSync("/proc/self/environ");
    const child = new Deno.Command("sh", {
      args: ["-c", "env; cat /proc/self/environ"],
      stdout: "piped",
    }).outputSync();
    console.log(JSON.stringify({
      value,
      get: Deno.env.get("WGC_TEST_SECRET") ?? null,
      environHasValue: environ.includes("c2VjcmV0"),
      environHasName: environ.includes("WGC_TEST_SECRET="),
      environKeepsOthers: environ.includes("WGC_TEST_OTHER=stays"),
      childHasValue: new TextDecoder().decode(child.stdout).includes("c2VjcmV0"),
      again: (await takeEnvironmentVariable("WGC_TEST_SECRET")) ?? null,
    }));`,
    { WGC_TEST_SECRET: SECRET, WGC_TEST_OTHER: "stays" },
  );
  deepStrictEqual(seen, {
    value: SECRET,
    get: null,
    environHasValue: false,
    environHasName: true,
    environKeepsOthers: true,
    childHasValue: false,
    again: null,
  });
});

Deno.test("only the variable of that exact name is zeroed", async () => {
  const seen = await inFreshProcess(
    `
    const value = await takeEnvironmentVariable("WGC_T");
    const environ = Deno.readTextFileSync("/proc/self/environ").split("\\0");
    console.log(JSON.stringify({
      value,
      gone: !environ.some((entry) => entry.includes("a=b-secret")),
      kept: environ.filter((entry) => entry.includes("kept")).sort(),
    }));`,
    { WGC_T: "a=b-secret", WGC_TX: "kept-1", XWGC_T: "kept-2", WGC_: "kept-3" },
  );
  deepStrictEqual(seen, {
    value: "a=b-secret",
    gone: true,
    kept: ["WGC_=kept-3", "WGC_TX=kept-1", "XWGC_T=kept-2"],
  });
});

Deno.test("wgl_environ_scrub refuses names that cannot be variables and counts what it changed", async () => {
  await prepareLauncher();
  const scrub = (name: string) =>
    launcher().wgl_environ_scrub(new TextEncoder().encode(`${name}\0`));
  strictEqual(scrub(""), -22); // EINVAL
  strictEqual(scrub("A=B"), -22);
  strictEqual(scrub("WGC_TEST_NEVER_SET_ANYWHERE"), 0);
});
