import { crc32, md5 } from "hash-wasm";
import { afterEach, describe, expect, it } from "vitest";
import { UploadFailure } from "../src/errors.js";
import { type Hashing, LocalHashing, WorkerHashing, startHashing } from "../src/hashing.js";
import { bytes } from "./support.js";

const CRC32C = 0x82f63b78;

const data = bytes(200_003);
const blob = new Blob([data as Uint8Array<ArrayBuffer>]);

/**
 * hash-worker.ts in this process: its module installs `onmessage` on the global scope and
 * answers through the global `postMessage`, which this fake hands back as the worker's answers.
 * Messages go through structuredClone, as between threads, transferring what the worker hands over.
 */
class InProcessWorker {
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onmessageerror: (() => void) | null = null;
  terminated = false;

  static async create(): Promise<InProcessWorker> {
    const worker = new InProcessWorker();
    const scope = globalThis as unknown as Record<string, unknown>;
    scope.postMessage = (answer: unknown, transfer: Transferable[] = []) => {
      const data = structuredClone(answer, { transfer });
      queueMicrotask(() => worker.onmessage?.({ data }));
    };
    await import("../src/hash-worker.js");
    return worker;
  }

  postMessage(request: unknown): void {
    const handler = (globalThis as unknown as { onmessage: (event: unknown) => void }).onmessage;
    handler({ data: structuredClone(request) });
  }

  terminate(): void {
    this.terminated = true;
  }
}

/** A worker whose script never loads: it reports an error and answers nothing. */
class BrokenWorker {
  onmessage = null;
  onerror: ((event: unknown) => void) | null = null;
  onmessageerror = null;
  postMessage(): void {
    queueMicrotask(() => this.onerror?.({ message: "404", preventDefault() {} }));
  }
  terminate(): void {}
}

const setup = { algorithm: "md5", chunkAlgorithm: "crc32c" };

async function hashAll(hashing: Hashing, chunk: number): Promise<string[]> {
  const checksums: string[] = [];
  for (let start = 0; start < data.length; start += chunk) {
    const read = await hashing.chunk(start, Math.min(start + chunk, data.length), true);
    checksums.push(read.checksum ?? "");
  }
  return checksums;
}

describe.each([
  ["in this thread", () => LocalHashing.start(blob, setup)],
  [
    "in a worker",
    async () => WorkerHashing.start((await InProcessWorker.create()) as never, blob, setup),
  ],
])("hashing %s", (_, start) => {
  let hashing: Hashing;
  afterEach(() => hashing?.close());

  it("gives each chunk's crc32c and the whole file's md5", async () => {
    hashing = await start();
    const checksums = await hashAll(hashing, 65_536);
    expect(checksums[1]).toBe(`crc32c:${await crc32(data.subarray(65_536, 131_072), CRC32C)}`);
    expect(await hashing.hex()).toBe(await md5(data));
    expect(hashing.bytesReadForHash).toBe(0);
  });

  it("gives the chunk's bytes to send", async () => {
    hashing = await start();
    const read = await hashing.chunk(70_000, 80_000, true);
    expect(read.data).toEqual(data.subarray(70_000, 80_000));
  });

  it("reads the bytes before a chunk it was not fed, once", async () => {
    hashing = await start();
    await hashing.chunk(100_000, 150_000, true);
    expect(hashing.bytesReadForHash).toBe(100_000);
    expect(await hashing.hex()).toBe(await md5(data));
    expect(hashing.bytesReadForHash).toBe(data.length - 50_000);
  });

  it("leaves the digest alone for a chunk not fed", async () => {
    hashing = await start();
    await hashing.chunk(0, 1000, false);
    const checkpoint = await hashing.checkpoint();
    expect(checkpoint.offset).toBe(0);
  });

  it("continues from a checkpoint without reading what it covers", async () => {
    hashing = await start();
    await hashing.chunk(0, 120_000, true);
    const checkpoint = await hashing.checkpoint();
    hashing.close();
    hashing = await LocalHashing.start(blob, { ...setup, checkpoint });
    await hashing.chunk(120_000, data.length, true);
    expect(await hashing.hex()).toBe(await md5(data));
    expect(hashing.bytesReadForHash).toBe(0);
  });

  it("fails a chunk past the end of a file that became shorter", async () => {
    hashing = await start();
    const failure = await hashing.chunk(data.length - 10, data.length + 10, true).catch((e) => e);
    expect(failure).toBeInstanceOf(UploadFailure);
    expect(failure.code).toBe("LOCAL_FILE_ERROR");
  });
});

describe("startHashing", () => {
  it("gives no chunk checksum when the server checks none", async () => {
    const hashing = await startHashing(blob, { algorithm: "md5", chunkAlgorithm: null }, false);
    const read = await hashing.chunk(0, 4096, true);
    expect(read.data.byteLength).toBe(4096);
    expect(read.checksum).toBeNull();
  });

  it("hashes in this thread when the worker does not start", async () => {
    const hashing = await startHashing(blob, setup, () => new BrokenWorker() as never);
    expect(hashing).toBeInstanceOf(LocalHashing);
    await hashAll(hashing, 100_000);
    expect(await hashing.hex()).toBe(await md5(data));
  });

  it("fails what waits on a worker that dies with a typed error", async () => {
    const worker = await InProcessWorker.create();
    const hashing = await startHashing(blob, setup, () => worker as never);
    const waiting = hashing.chunk(0, 1000, true);
    worker.onerror?.({ message: "out of memory", preventDefault() {} });
    const failure = await waiting.catch((e) => e);
    expect(failure).toBeInstanceOf(UploadFailure);
    expect(failure.code).toBe("LOCAL_FILE_ERROR");
    expect(failure.message).toBe("The hashing worker failed: out of memory");
  });

  it("uses the worker the option makes", async () => {
    const worker = await InProcessWorker.create();
    const hashing = await startHashing(blob, setup, () => worker as never);
    expect(hashing).toBeInstanceOf(WorkerHashing);
    hashing.close();
    expect(worker.terminated).toBe(true);
  });

  it("fails the upload when the server asks for an algorithm it cannot compute", async () => {
    const worker = await InProcessWorker.create();
    const unknown = { ...setup, algorithm: "whirlpool" };
    const failure = await startHashing(blob, unknown, () => worker as never).catch((e) => e);
    expect(failure.code).toBe("UNSUPPORTED");
  });
});
