import { createMD5, createSHA256, md5, sha1, sha256, sha512 } from "hash-wasm";
import { describe, expect, it } from "vitest";
import { FileDigest, chunkChecksum, createHasher, pickChunkAlgorithm } from "../src/hash.js";
import { bytes } from "./support.js";

/** A Blob that counts the bytes read from it. */
function counting(data: Uint8Array) {
  const blob = new Blob([data as Uint8Array<ArrayBuffer>]);
  const source = {
    size: blob.size,
    read: 0,
    slice(start: number, end: number) {
      source.read += Math.min(end, blob.size) - start;
      return blob.slice(start, end);
    },
  };
  return source;
}

describe("FileDigest", () => {
  const data = bytes(300_001);

  it.each([
    ["md5", md5],
    ["sha1", sha1],
    ["sha256", sha256],
    ["sha512", sha512],
  ])("hashes %s in chunks to the one-shot digest", async (algorithm, oneShot) => {
    const digest = await FileDigest.start(algorithm, counting(data));
    for (let start = 0; start < data.length; start += 65_536) {
      await digest.feed(start, data.subarray(start, start + 65_536));
    }
    expect(await digest.hex()).toBe(await oneShot(data));
  });

  it("continues from a saved checkpoint without reading the hashed part again", async () => {
    const first = await FileDigest.start("md5", counting(data));
    await first.feed(0, data.subarray(0, 100_000));
    const checkpoint = JSON.parse(JSON.stringify(first.checkpoint()));
    const source = counting(data);
    const resumed = await FileDigest.start("md5", source, checkpoint);
    expect(await resumed.hex()).toBe(await md5(data));
    expect(source.read).toBe(data.length - 100_000);
  });

  it("ignores a checkpoint of another algorithm", async () => {
    const first = await FileDigest.start("md5", counting(data));
    await first.feed(0, data.subarray(0, 100_000));
    const resumed = await FileDigest.start("sha256", counting(data), first.checkpoint());
    expect(resumed.offset).toBe(0);
    expect(await resumed.hex()).toBe(await sha256(data));
  });

  it("reads a gap before a fed chunk from the source", async () => {
    const source = counting(data);
    const digest = await FileDigest.start("sha256", source);
    await digest.feed(200_000, data.subarray(200_000));
    expect(digest.bytesReadForHash).toBe(200_000);
    expect(await digest.hex()).toBe(await sha256(data));
  });

  it("does not hash bytes fed twice", async () => {
    const digest = await FileDigest.start("md5", counting(data));
    await digest.feed(0, data.subarray(0, 1000));
    await digest.feed(0, data.subarray(0, 1000));
    await digest.feed(500, data.subarray(500));
    expect(await digest.hex()).toBe(await md5(data));
  });

  it("refuses an algorithm it cannot compute, with a code", async () => {
    await expect(createHasher("whirlpool-9")).rejects.toMatchObject({ code: "UNSUPPORTED" });
  });

  it("saves hash-wasm's own state (an md5 loaded from it digests the same)", async () => {
    const hasher = await createMD5();
    hasher.init();
    hasher.update(data.subarray(0, 1234));
    const other = await createMD5();
    other.load(hasher.save());
    other.update(data.subarray(1234));
    expect(other.digest("hex")).toBe(await md5(data));
    const unrelated = await createSHA256();
    expect(() => unrelated.load(hasher.save())).toThrow();
  });
});

describe("chunk checksums", () => {
  it("gives crc32c as big-endian hex (the check value of 123456789)", async () => {
    expect(await chunkChecksum("crc32c", new TextEncoder().encode("123456789"))).toBe(
      "crc32c:e3069283",
    );
  });

  it("gives sha256 with its prefix", async () => {
    expect(await chunkChecksum("sha256", new TextEncoder().encode("test"))).toBe(
      "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    );
  });

  it("picks crc32c first, then sha256, then md5, among those offered", () => {
    expect(pickChunkAlgorithm(["md5", "sha256", "crc32c"])).toBe("crc32c");
    expect(pickChunkAlgorithm(["md5", "sha256"])).toBe("sha256");
    expect(pickChunkAlgorithm(["md5"])).toBe("md5");
    expect(pickChunkAlgorithm([])).toBeNull();
  });
});
