/**
 * Where an upload's reading and hashing run: each chunk read from the file, its chunk checksum,
 * and the whole file's digest. In a browser that is a Web Worker (`hash-worker.js`, beside this
 * module), which hands each chunk's bytes back without a copy (a transferred ArrayBuffer), so
 * the page's main thread only sends them; where no worker starts (Node, a bundler that left the
 * worker file out, a Content-Security-Policy without `worker-src`), the same work runs in the
 * calling thread.
 */
import { type ErrorCode, UploadFailure } from "./errors.js";
import {
  FileDigest,
  type HashCheckpoint,
  type Source,
  createChunkHasher,
  readChunk,
} from "./hash.js";

/** A chunk as read: its bytes, to send, and their checksum for uploadChunk's `chunkChecksum`. */
export interface ReadChunk {
  data: Uint8Array;
  /** "<algorithm>:<hex>", or null when the server checks none. */
  checksum: string | null;
}

/** What an upload asks of its hashing; every method reads the file itself. */
export interface Hashing {
  /**
   * Reads the bytes `start` to `end - 1` and their chunk checksum. With `feed`, they go into the
   * whole file's digest too, after reading any bytes before them it has not seen (those the
   * server already had).
   */
  chunk(start: number, end: number, feed: boolean): Promise<ReadChunk>;
  /** The digest's position and saved state, to continue from after a reload. */
  checkpoint(): Promise<HashCheckpoint>;
  /** The whole file's digest, hex, after reading whatever was not fed. */
  hex(): Promise<string>;
  /** Bytes read from the file for the whole file's digest alone (not as chunks). */
  readonly bytesReadForHash: number;
  close(): void;
}

export interface HashingSetup {
  algorithm: string;
  chunkAlgorithm: string | null;
  checkpoint?: HashCheckpoint | null;
}

/**
 * `true` (the default): a Web Worker where the platform has one; `false`: always in the calling
 * thread; or a function making the worker, for a bundler that needs to see the `new Worker`
 * call itself, e.g. `() => new Worker(new URL("chunked-graphql-client/hash-worker",
 * import.meta.url), { type: "module" })`.
 */
export type HashWorkerOption = boolean | (() => Worker);

/** The hashing in this thread; calls run one at a time, in the order made. */
export class LocalHashing implements Hashing {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly source: Source,
    private readonly digest: FileDigest,
    private readonly chunkHasher: ((data: Uint8Array) => string) | null,
  ) {}

  static async start(source: Source, setup: HashingSetup): Promise<LocalHashing> {
    const digest = await FileDigest.start(setup.algorithm, source, setup.checkpoint);
    const chunkHasher = setup.chunkAlgorithm ? await createChunkHasher(setup.chunkAlgorithm) : null;
    return new LocalHashing(source, digest, chunkHasher);
  }

  get bytesReadForHash(): number {
    return this.digest.bytesReadForHash;
  }

  chunk(start: number, end: number, feed: boolean): Promise<ReadChunk> {
    // In order: chunks asked for ahead are fed to the digest in the order asked, not in the
    // order their reads finish.
    return this.inTurn(async () => {
      const data = await readChunk(this.source, start, end);
      const checksum = this.chunkHasher ? this.chunkHasher(data) : null;
      if (feed) await this.digest.feed(start, data);
      return { data, checksum };
    });
  }

  checkpoint(): Promise<HashCheckpoint> {
    return this.inTurn(async () => this.digest.checkpoint());
  }

  hex(): Promise<string> {
    return this.inTurn(() => this.digest.hex());
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): void {}
}

/** A message to the worker (hash-worker.ts answers each, in the order sent). */
export type WorkerRequest =
  | { id: number; op: "start"; file: Blob; setup: HashingSetup }
  | { id: number; op: "chunk"; start: number; end: number; feed: boolean }
  | { id: number; op: "checkpoint" }
  | { id: number; op: "hex" };

export type WorkerAnswer =
  | { id: number; ok: true; value: unknown; bytesReadForHash: number }
  | { id: number; ok: false; code: string; message: string };

/** The hashing in a Web Worker, over messages; the worker reads the file itself. */
export class WorkerHashing implements Hashing {
  bytesReadForHash = 0;
  private next = 0;
  private readonly waiting = new Map<number, [(value: unknown) => void, (error: Error) => void]>();
  private broken: UploadFailure | null = null;

  private constructor(private readonly worker: Worker) {
    worker.onmessage = (event: MessageEvent<WorkerAnswer>) => {
      const answer = event.data;
      const waiter = this.waiting.get(answer.id);
      if (!waiter) return;
      this.waiting.delete(answer.id);
      if (answer.ok) {
        this.bytesReadForHash = answer.bytesReadForHash;
        waiter[0](answer.value);
      } else {
        waiter[1](new UploadFailure(answer.code as ErrorCode, answer.message));
      }
    };
    // A worker that fails to load, or dies, fails whatever waits on it: the file could not be
    // read, as far as the upload can tell (it stays resumable).
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault?.();
      this.fail(`The hashing worker failed: ${event.message || "it did not start"}`);
    };
    worker.onmessageerror = () => this.fail("The hashing worker sent an unreadable answer.");
  }

  /** Starts the worker; rejects when it cannot run (the caller then hashes in its own thread). */
  static async start(worker: Worker, file: Blob, setup: HashingSetup): Promise<WorkerHashing> {
    const hashing = new WorkerHashing(worker);
    try {
      await hashing.ask({ op: "start", file, setup });
    } catch (error) {
      hashing.close();
      throw error;
    }
    return hashing;
  }

  async chunk(start: number, end: number, feed: boolean): Promise<ReadChunk> {
    const { data, checksum } = (await this.ask({ op: "chunk", start, end, feed })) as {
      data: ArrayBuffer;
      checksum: string | null;
    };
    return { data: new Uint8Array(data), checksum };
  }

  async checkpoint(): Promise<HashCheckpoint> {
    return (await this.ask({ op: "checkpoint" })) as HashCheckpoint;
  }

  async hex(): Promise<string> {
    return (await this.ask({ op: "hex" })) as string;
  }

  close(): void {
    this.worker.terminate();
    this.fail("The hashing worker was stopped.");
  }

  private ask(request: DistributiveOmit<WorkerRequest, "id">): Promise<unknown> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, [resolve, reject]);
      this.worker.postMessage({ ...request, id });
    });
  }

  private fail(message: string): void {
    this.broken ??= new UploadFailure("LOCAL_FILE_ERROR", message);
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const [, reject] of waiting) reject(this.broken);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function defaultWorker(): Worker {
  return new Worker(new URL("./hash-worker.js", import.meta.url), {
    type: "module",
    name: "chunked-graphql-hashing",
  });
}

/** The upload's hashing: in a worker where one starts (see `HashWorkerOption`), else here. */
export async function startHashing(
  file: Source,
  setup: HashingSetup,
  option: HashWorkerOption = true,
): Promise<Hashing> {
  const canPost = typeof Blob !== "undefined" && file instanceof Blob;
  const canStart = option !== true || typeof Worker !== "undefined";
  if (option !== false && canPost && canStart) {
    try {
      const worker = option === true ? defaultWorker() : option();
      return await WorkerHashing.start(worker, file, setup);
    } catch {
      // No worker here: the same work, in this thread.
    }
  }
  return await LocalHashing.start(file, setup);
}
