import { describe, expect, it } from "vitest";
import { type ServerLimits, chunkStarts, formatSize, parallelChunkSize } from "../src/plan.js";

const MIB = 1024 * 1024;
const limits: ServerLimits = {
  maxBytes: null,
  maxChunkSize: 16 * MIB,
  minParallelChunkSize: 64 * 1024,
  maxParts: 10_000,
  expiresIn: 86_400,
  checksumAlgorithm: "md5",
  chunkChecksumAlgorithms: ["crc32c", "sha256", "md5"],
};

describe("parallelChunkSize", () => {
  it("chooses 4 MiB chunks for a file of several", () => {
    expect(parallelChunkSize(20 * MIB, limits, undefined, undefined)).toBe(4 * MIB);
  });

  it("sends a file of one chunk serially", () => {
    expect(parallelChunkSize(3 * MIB, limits, undefined, undefined)).toBeNull();
  });

  it("sends serially with parallel 1", () => {
    expect(parallelChunkSize(20 * MIB, limits, MIB, 1)).toBeNull();
  });

  it("sends serially when the server takes one part only", () => {
    expect(parallelChunkSize(20 * MIB, { ...limits, maxParts: 1 }, MIB, undefined)).toBeNull();
  });

  it("grows the default chunk to total / maxParts", () => {
    expect(parallelChunkSize(100 * MIB, { ...limits, maxParts: 10 }, undefined, undefined)).toBe(
      10 * MIB,
    );
  });

  it("rounds total / maxParts up", () => {
    expect(
      parallelChunkSize(10 * MIB + 1, { ...limits, maxParts: 2 }, undefined, undefined),
    ).toBe(5 * MIB + 1);
  });

  it("takes the chunk size asked for within the server's bounds", () => {
    expect(parallelChunkSize(20 * MIB, limits, MIB, 4)).toBe(MIB);
  });

  it("falls back to serial for a chunk size out of bounds when parallel was not asked for", () => {
    expect(parallelChunkSize(20 * MIB, limits, 1000, undefined)).toBeNull();
  });

  it("refuses a chunk size out of bounds when parallel was asked for, naming the bounds", () => {
    expect(() => parallelChunkSize(20 * MIB, limits, 1000, 4)).toThrowError(
      expect.objectContaining({
        code: "INVALID_CHUNK_SIZE",
        fields: { minChunkSize: 64 * 1024, maxChunkSize: 16 * MIB },
      }),
    );
  });
});

describe("chunkStarts", () => {
  it("covers every missing range with whole chunks, ascending", () => {
    const ranges = [
      { start: 0, end: 99 },
      { start: 250, end: 420 },
    ];
    expect(chunkStarts(ranges, 100)).toEqual([0, 200, 300, 400]);
  });

  it("is empty when nothing is missing", () => {
    expect(chunkStarts([], 100)).toEqual([]);
  });
});

describe("formatSize", () => {
  it("writes bytes in binary units with one decimal", () => {
    expect([formatSize(1_000_000), formatSize(3 * MIB), formatSize(12)]).toEqual([
      "976.6 KiB",
      "3.0 MiB",
      "12 bytes",
    ]);
  });
});
