/**
 * A script's `#!` interpreter, when it is missing: execve then fails with
 * ENOENT as if the script itself were not there, and the message should name
 * the interpreter instead.
 *
 * @module
 */

/**
 * The interpreter a script's `#!` line names, when that interpreter does not
 * exist; undefined for anything else (a binary, an unreadable file, a present
 * interpreter). Reads the first 256 bytes, as much as the kernel looks at.
 */
export function missingInterpreter(path: string): string | undefined {
  // Only a regular file is opened (a FIFO's open would wait for a writer).
  if (!isFile(path)) return undefined;
  let head: Uint8Array;
  try {
    using file = Deno.openSync(path, { read: true });
    head = new Uint8Array(256);
    const n = file.readSync(head) ?? 0;
    head = head.subarray(0, n);
  } catch {
    return undefined;
  }
  if (head[0] !== 0x23 || head[1] !== 0x21) return undefined; // "#!"
  const line = new TextDecoder().decode(head.subarray(2)).split("\n")[0];
  // As the kernel reads it: blanks skipped, the name ends at a blank or the
  // newline (a CR stays part of it).
  const interpreter = line.replace(/^[ \t]+/, "").split(/[ \t]/)[0];
  if (interpreter === "" || isFile(interpreter)) return undefined;
  return interpreter;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
