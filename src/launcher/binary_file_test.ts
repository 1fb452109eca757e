import {
  binaryBytes,
  directoriesOf,
  onlyRootWrites,
  type Owner,
  rootOwnedFile,
} from "./binary_file.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const file = (uid: number, mode: number): Owner => ({
  uid,
  mode,
  isFile: true,
  isDirectory: false,
});
const dir = (uid: number, mode: number): Owner => ({
  uid,
  mode,
  isFile: false,
  isDirectory: true,
});
const ROOT_DIRS = [dir(0, 0o40755), dir(0, 0o40755)];

Deno.test("onlyRootWrites: root's file in root's directories", () => {
  assert(onlyRootWrites(file(0, 0o100755), ROOT_DIRS), "0755 in 0755 directories");
  assert(onlyRootWrites(file(0, 0o100444), ROOT_DIRS), "read-only");
  // /tmp: others may write it, but not rename or remove root's entries.
  assert(onlyRootWrites(file(0, 0o100755), [dir(0, 0o40755), dir(0, 0o41777)]), "sticky /tmp");
});

Deno.test("onlyRootWrites: anything another user could change is refused", () => {
  assert(!onlyRootWrites(file(1000, 0o100755), ROOT_DIRS), "the user's file");
  assert(!onlyRootWrites(file(0, 0o100775), ROOT_DIRS), "group-writable file");
  assert(!onlyRootWrites(file(0, 0o100757), ROOT_DIRS), "world-writable file");
  assert(!onlyRootWrites(file(0, 0o100755), [dir(0, 0o40755), dir(1000, 0o40755)]), "user's dir");
  assert(!onlyRootWrites(file(0, 0o100755), [dir(0, 0o40775), dir(0, 0o40755)]), "group dir");
  assert(!onlyRootWrites(file(0, 0o100755), [dir(0, 0o40777)]), "world-writable, not sticky");
  assert(!onlyRootWrites({ ...file(0, 0o120777), isFile: false }, ROOT_DIRS), "a symlink");
  assert(!onlyRootWrites(file(0, 0o100755), [{ ...dir(0, 0o120777), isDirectory: false }]), "link");
  assert(!onlyRootWrites({ ...file(0, 0o100755), uid: null }, ROOT_DIRS), "no owner");
});

Deno.test("directoriesOf lists every directory down to the file's", () => {
  const got = JSON.stringify(directoriesOf("/usr/lib/wgcage/x.bin"));
  assert(got === JSON.stringify(["/", "/usr", "/usr/lib", "/usr/lib/wgcage"]), got);
  assert(JSON.stringify(directoriesOf("/x")) === JSON.stringify(["/"]), "a file in /");
});

Deno.test("binaryBytes decodes a data: URL and reads a file: URL", async () => {
  const bytes = Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 0, 255);
  const url = `data:application/octet-stream;base64,${bytes.toBase64()}`;
  assert(binaryBytes(url).toHex() === bytes.toHex(), "data: URL");
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeFile(path, bytes);
    assert(binaryBytes(`file://${path}`).toHex() === bytes.toHex(), "file: URL");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("rootOwnedFile takes root's file as it is, and nothing another user may write (needs root)", async () => {
  if (Deno.uid() !== 0) {
    throw new Error("This test needs root (it makes files of root's and another user's)");
  }
  assert(rootOwnedFile("data:application/octet-stream;base64,AAAA", false) === undefined, "data:");
  const dir = await Deno.makeTempDir();
  try {
    await Deno.chmod(dir, 0o755);
    const path = `${dir}/x.bin`;
    await Deno.writeFile(path, Uint8Array.of(1));
    await Deno.chmod(path, 0o644);
    const url = `file://${path}`;
    assert(rootOwnedFile(url, false) === path, "root's 0644 file");
    assert(rootOwnedFile(url, true) === undefined, "not executable by all");
    await Deno.chmod(path, 0o755);
    assert(rootOwnedFile(url, true) === path, "root's 0755 file");
    // Through a symbolic link: the file it leads to.
    await Deno.symlink(path, `${dir}/link.bin`);
    assert(rootOwnedFile(`file://${dir}/link.bin`, true) === path, "through a link");
    await Deno.chmod(path, 0o775);
    assert(rootOwnedFile(url, false) === undefined, "group-writable");
    await Deno.chmod(path, 0o755);
    await Deno.chown(path, 65534, 65534);
    assert(rootOwnedFile(url, false) === undefined, "another user's file");
    // Another directory: the verdict on one already looked at is kept (only
    // root could have changed a directory that only root could write).
    await Deno.mkdir(`${dir}/user`, { mode: 0o755 });
    await Deno.writeFile(`${dir}/user/x.bin`, Uint8Array.of(1), { mode: 0o755 });
    await Deno.chown(`${dir}/user`, 65534, 65534);
    const inUsers = `file://${dir}/user/x.bin`;
    assert(rootOwnedFile(inUsers, false) === undefined, "in another user's directory");
    assert(rootOwnedFile(`file://${dir}/gone.bin`, false) === undefined, "a missing file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
