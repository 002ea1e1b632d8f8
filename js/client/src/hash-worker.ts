/**
 * The hashing worker: one upload's `LocalHashing`, driven by messages from `WorkerHashing`
 * (hashing.ts). Requests are handled one at a time, in the order they came, so the whole file's
 * digest sees the chunks in the order the upload feeds them; a chunk's bytes go back transferred,
 * not copied. The build bundles this file with hash-wasm into dist/hash-worker.js, so it loads
 * without a bundler or an import map.
 */
import { UploadFailure } from "./errors.js";
import { type Hashing, LocalHashing, type WorkerAnswer, type WorkerRequest } from "./hashing.js";

interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerAnswer, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
let hashing: Hashing | null = null;
let queue: Promise<void> = Promise.resolve();

async function handle(request: WorkerRequest): Promise<unknown> {
  if (request.op === "start") {
    hashing = await LocalHashing.start(request.file, request.setup);
    return null;
  }
  if (hashing === null) throw new Error("The hashing worker was not started.");
  switch (request.op) {
    case "chunk": {
      const { data, checksum } = await hashing.chunk(request.start, request.end, request.feed);
      // readChunk's bytes are an ArrayBuffer of their own, whole: it can be handed over.
      return { data: data.buffer, checksum };
    }
    case "checkpoint":
      return await hashing.checkpoint();
    case "hex":
      return await hashing.hex();
  }
}

scope.onmessage = (event) => {
  const request = event.data;
  queue = queue.then(async () => {
    try {
      const value = await handle(request);
      const bytesReadForHash = hashing?.bytesReadForHash ?? 0;
      const transfer = request.op === "chunk" ? [(value as { data: ArrayBuffer }).data] : [];
      scope.postMessage({ id: request.id, ok: true, value, bytesReadForHash }, transfer);
    } catch (error) {
      const code = error instanceof UploadFailure ? error.code : "LOCAL_FILE_ERROR";
      scope.postMessage({ id: request.id, ok: false, code, message: String((error as Error).message) });
    }
  });
};
