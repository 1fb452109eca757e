/** Needs openssl (Debian package openssl) to read the certificate as a third party would. */
import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { makeCertificate } from "./certificate.ts";

Deno.test("certificate: a self-signed P-256 certificate that openssl reads and verifies", async () => {
  const c = await makeCertificate(["vpn.example.com", "192.0.2.1"]);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.pem`, c.certPem);
    await Deno.writeTextFile(`${dir}/k.pem`, c.keyPem);
    const run = async (args: string[]) => {
      const out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
        .output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assertEquals(out.success, true, text);
      return text;
    };
    const text = await run([
      "x509",
      "-in",
      `${dir}/c.pem`,
      "-noout",
      "-text",
      "-fingerprint",
      "-sha256",
    ]);
    assertMatch(text, /DNS:vpn\.example\.com, IP Address:192\.0\.2\.1/);
    assertMatch(text, /ecdsa-with-SHA256/);
    const fp = /sha256 Fingerprint=([0-9A-F:]+)/i.exec(text)![1].replaceAll(":", "").toLowerCase();
    assertEquals(fp, c.fingerprint);
    // Its signature checks out against itself (self-signed), and the key is its key.
    assertMatch(
      await run(["verify", "-CAfile", `${dir}/c.pem`, "-partial_chain", `${dir}/c.pem`]),
      /OK/,
    );
    const certKey = await run(["x509", "-in", `${dir}/c.pem`, "-noout", "-pubkey"]);
    const keyKey = await run(["pkey", "-in", `${dir}/k.pem`, "-pubout"]);
    assertEquals(certKey, keyKey);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
