/**
 * `upload(file, options)`: one file, in chunks, several at once where the server allows it,
 * resumable after a reload or a crash, with the whole file's checksum computed as the chunks
 * are read (and continued from a saved state when resuming). Reading and hashing run in a Web
 * Worker where there is one (hashing.ts); this module only sends: it takes an upload from the
 * server's limits through creating it (or finding it again) to completing it, with each chunk's
 * request, pausing and progress. How the file is cut up is in plan.ts, the loops that send the
 * chunks serially or in parallel in sending.ts.
 */
import { UploadFailure, UploadRejected, abortError, rejection } from "./errors.js";
import { pickChunkAlgorithm } from "./hash.js";
import { type Hashing, type ReadChunk, startHashing } from "./hashing.js";
import {
  CANCEL_UPLOAD,
  COMPLETE_UPLOAD,
  CREATE_UPLOAD,
  GET_UPLOAD,
  UPLOAD_CHUNK,
  UPLOAD_LIMITS,
} from "./operations.js";
import {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_PARALLEL,
  type ServerLimits,
  formatSize,
  parallelChunkSize,
  storedBytes,
} from "./plan.js";
import { withRetries } from "./retry.js";
import { type Sending, sendParallel, sendSerial } from "./sending.js";
import { type ResumeRecord, type ResumeStore, defaultStore, saver } from "./store.js";
import { type RequestOptions, execute } from "./transport.js";
import type { UploadInfo, UploadOptions, UploadSource } from "./types.js";

const MAX_CHECKSUM_RESENDS = 3;

export function defaultFingerprint(file: UploadSource, endpoint: string): string {
  return ["cgq1", endpoint, file.name ?? "", file.size, file.lastModified ?? "", file.type ?? ""].join(
    "|",
  );
}

/** A running upload: await it (it is a promise of the completed `UploadInfo`), pause, resume. */
export class Upload implements PromiseLike<UploadInfo> {
  readonly promise: Promise<UploadInfo>;
  /** The upload's id, once known. */
  id: string | null = null;
  private pauseController = new AbortController();
  private pausedFlag = false;
  private wakers: (() => void)[] = [];
  private readonly abortController = new AbortController();
  private readonly options: UploadOptions;
  private readonly file: UploadSource;
  private readonly store: ResumeStore | null;
  private acknowledged = 0;
  private resumedFrom = 0;
  private readonly inFlight = new Map<number, number>();
  private hashing: Hashing | null = null;

  constructor(file: UploadSource, options: UploadOptions) {
    this.file = file;
    this.options = options;
    this.store = options.store === undefined ? defaultStore() : options.store;
    if (options.signal) {
      const signal = options.signal;
      if (signal.aborted) this.abortController.abort(signal.reason);
      else signal.addEventListener("abort", () => this.abort(signal.reason), { once: true });
    }
    this.promise = this.run();
    // The caller may only ever await a later `then`; the failure is theirs to see there.
    this.promise.catch(() => undefined);
  }

  then<A = UploadInfo, B = never>(
    onFulfilled?: ((value: UploadInfo) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.promise.then(onFulfilled, onRejected);
  }

  get paused(): boolean {
    return this.pausedFlag;
  }

  /** Stops sending: requests in flight are cut off, their chunks sent again on `resume()`. */
  pause(): void {
    if (this.pausedFlag) return;
    this.pausedFlag = true;
    this.pauseController.abort();
  }

  resume(): void {
    if (!this.pausedFlag) return;
    this.pausedFlag = false;
    this.pauseController = new AbortController();
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }

  /** Stops for good; the upload stays on the server, to be resumed by a later `upload()`. */
  abort(reason?: unknown): void {
    this.abortController.abort(reason);
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }

  /** Bytes read from the file for the whole-file hash alone (not as chunks to send). */
  get bytesReadForHash(): number {
    return this.hashing?.bytesReadForHash ?? 0;
  }

  // Requests -----------------------------------------------------------------------------------

  private request(signal: AbortSignal, onUploadProgress?: (loaded: number) => void): RequestOptions {
    return {
      endpoint: this.options.endpoint,
      headers: this.options.headers,
      signal,
      onUploadProgress,
      transport: this.options.transport,
      withCredentials: this.options.withCredentials,
    };
  }

  private call(
    query: string,
    variables: Record<string, unknown>,
    signal: AbortSignal = this.abortController.signal,
  ): Promise<Record<string, unknown>> {
    return withRetries(
      async () => (await execute(this.request(signal), query, variables)).data,
      this.options.retry ?? {},
      signal,
      this.options.onRetry,
    );
  }

  private async waitWhilePaused(): Promise<void> {
    while (this.pausedFlag && !this.abortController.signal.aborted) {
      await new Promise<void>((wake) => this.wakers.push(wake));
    }
    if (this.abortController.signal.aborted) throw abortError(this.abortController.signal.reason);
  }

  private report(): void {
    const total = this.file.size;
    let sent = this.acknowledged;
    for (const loaded of this.inFlight.values()) sent += loaded;
    this.options.onProgress?.({
      bytesSent: Math.min(total, sent),
      bytesAcknowledged: Math.min(total, this.acknowledged),
      bytesTotal: total,
      uploadId: this.id,
      resumedFrom: this.resumedFrom,
    });
  }

  // The flow ----------------------------------------------------------------------------------

  private async run(): Promise<UploadInfo> {
    const file = this.file;
    const size = file.size;
    if (size === 0) throw new UploadFailure("LOCAL_FILE_ERROR", "The file is empty; there is nothing to upload.");
    const filename = this.options.filename ?? file.name ?? "upload";
    const limits = (await this.call(UPLOAD_LIMITS, {})).uploadLimits as ServerLimits;
    if (limits.maxBytes !== null && size > limits.maxBytes) {
      throw new UploadRejected(
        "MaxBytesExceeded",
        "MAX_BYTES_EXCEEDED",
        `This file (${formatSize(size)}) is larger than the server accepts: the limit is ${formatSize(limits.maxBytes)}.`,
        400,
        { maxBytes: limits.maxBytes },
      );
    }
    const key = this.store
      ? await (this.options.fingerprint ?? defaultFingerprint)(file, this.options.endpoint)
      : "";
    const found = await this.resumable(key, size);
    let upload: UploadInfo;
    let record: ResumeRecord | null = null;
    if (found) {
      [upload, record] = found;
      this.resumedFrom = storedBytes(upload);
    } else {
      const chunkSize = parallelChunkSize(size, limits, this.options.chunkSize, this.options.parallel);
      const variables: Record<string, unknown> = { filename, totalSize: size };
      if (chunkSize !== null) Object.assign(variables, { parallel: true, chunkSize });
      upload = this.resultOf(await this.call(CREATE_UPLOAD, variables), "createUpload");
      record = { uploadId: upload.id, endpoint: this.options.endpoint, filename, size };
      // Before any byte is sent: whatever happens next, the next run finds this upload.
      if (this.store) await this.store.set(key, record);
    }
    this.id = upload.id;
    this.acknowledged = this.resumedFrom;
    this.options.onStart?.(upload, found !== null);
    this.report();
    if (upload.status === "COMPLETE") {
      if (this.store) await this.store.remove(key);
      return upload;
    }
    const hashing = await startHashing(
      file,
      {
        algorithm: upload.checksumAlgorithm,
        chunkAlgorithm: pickChunkAlgorithm(limits.chunkChecksumAlgorithms),
        checkpoint: record?.hash,
      },
      this.options.hashWorker,
    );
    this.hashing = hashing;
    try {
      const saveHash = this.store
        ? saver(async () => {
            const hash = await hashing.checkpoint();
            record = { ...(record as ResumeRecord), hash };
            await this.store?.set(key, record);
          })
        : Object.assign(() => undefined, { flush: async () => undefined });
      const sending = this.sending(upload, filename, hashing, saveHash);
      if (upload.parallel && upload.chunkSize) {
        upload = await sendParallel(upload, this.options.parallel ?? DEFAULT_PARALLEL, sending);
      } else {
        const chunkSize = this.options.chunkSize ?? DEFAULT_CHUNK_SIZE;
        upload = await sendSerial(upload, Math.min(chunkSize, limits.maxChunkSize), sending);
      }
      await saveHash.flush();
      const checksum = await hashing.hex();
      return await this.complete(upload, checksum, key);
    } finally {
      hashing.close();
    }
  }

  private async resumable(key: string, size: number): Promise<[UploadInfo, ResumeRecord] | null> {
    if (!this.store) return null;
    const record = await this.store.get(key);
    if (!record || record.endpoint !== this.options.endpoint) return null;
    const data = await this.call(GET_UPLOAD, { id: record.uploadId });
    const upload = data.chunkedUpload as UploadInfo | null;
    if (upload && upload.totalSize === size && !upload.expired) return [upload, record];
    if (upload?.expired) {
      // It cannot go on; cancelling frees its storage now rather than at the clean-up.
      await this.call(CANCEL_UPLOAD, { uploadId: upload.id }).catch(() => undefined);
    }
    await this.store.remove(key);
    return null;
  }

  private resultOf(data: Record<string, unknown>, field: string): UploadInfo {
    const result = data[field] as Record<string, unknown>;
    const error = rejection(result);
    if (error) throw error;
    return result as unknown as UploadInfo;
  }

  /** One chunk, with its checksum, again if it arrived damaged; retried on transient failures. */
  private async sendChunk(
    uploadId: string,
    start: number,
    chunk: ReadChunk,
    filename: string,
    signal: AbortSignal,
  ): Promise<UploadInfo> {
    const length = chunk.data.byteLength;
    const variables = {
      uploadId,
      contentRange: `bytes ${start}-${start + length - 1}/${this.file.size}`,
      filename,
      chunkChecksum: chunk.checksum,
    };
    // The bytes that were hashed are the bytes sent. (Sending a slice of the file instead, read
    // again by the browser as it sends, cost Chromium more CPU than this copy; bench.browser.)
    const blob = new Blob([chunk.data as Uint8Array<ArrayBuffer>]);
    const progress = (loaded: number) => {
      this.inFlight.set(start, Math.min(loaded, length));
      this.report();
    };
    for (let resend = 0; ; resend++) {
      try {
        const answer = await withRetries(
          async () => {
            this.inFlight.set(start, 0);
            return (
              await execute(this.request(signal, progress), UPLOAD_CHUNK, variables, {
                name: filename,
                data: blob,
              })
            ).data;
          },
          this.options.retry ?? {},
          signal,
          this.options.onRetry,
        );
        return this.resultOf(answer, "uploadChunk");
      } catch (error) {
        if (
          error instanceof UploadRejected &&
          error.code === "CHUNK_CHECKSUM_MISMATCH" &&
          resend < MAX_CHECKSUM_RESENDS
        ) {
          this.options.onRetry?.(resend + 1, 0, error);
          continue;
        }
        throw error;
      } finally {
        this.inFlight.delete(start);
      }
    }
  }

  private chunkSignal(): AbortSignal {
    return AbortSignal.any([this.abortController.signal, this.pauseController.signal]);
  }

  private interruptedByPause(error: unknown): boolean {
    return (
      error instanceof UploadFailure &&
      error.code === "ABORTED" &&
      !this.abortController.signal.aborted
    );
  }

  /** The upload's side of the send loops (sending.ts), as closures: nothing of it becomes a
   * public member of `Upload`. */
  private sending(
    upload: UploadInfo,
    filename: string,
    hashing: Hashing,
    saveHash: () => void,
  ): Sending {
    return {
      size: this.file.size,
      hashing,
      saveHash,
      waitWhilePaused: () => this.waitWhilePaused(),
      chunkSignal: () => this.chunkSignal(),
      interruptedByPause: (error) => this.interruptedByPause(error),
      sendChunk: (start, chunk, signal) =>
        this.sendChunk(upload.id, start, chunk, filename, signal),
      acknowledgedUpTo: (offset) => {
        this.acknowledged = offset;
        this.report();
      },
      acknowledgedMore: (bytes) => {
        this.acknowledged += bytes;
        this.report();
      },
    };
  }

  private async complete(upload: UploadInfo, checksum: string, key: string): Promise<UploadInfo> {
    const forget = async () => {
      if (this.store) await this.store.remove(key);
    };
    try {
      const completed = this.resultOf(
        await this.call(COMPLETE_UPLOAD, { uploadId: upload.id, checksum }),
        "completeUpload",
      );
      await forget();
      return completed;
    } catch (error) {
      if (error instanceof UploadRejected && error.code === "ALREADY_COMPLETE") {
        // A retried completion whose first attempt went through.
        await forget();
        const data = await this.call(GET_UPLOAD, { id: upload.id });
        return (data.chunkedUpload as UploadInfo | null) ?? upload;
      }
      if (error instanceof UploadRejected && error.code === "CHECKSUM_MISMATCH") {
        // The stored bytes are not this file's: resuming again would end the same way.
        await forget();
        await this.call(CANCEL_UPLOAD, { uploadId: upload.id }).catch(() => undefined);
      }
      throw error;
    }
  }
}

/** Uploads `file` and completes it; see `UploadOptions`. */
export function upload(file: UploadSource, options: UploadOptions): Upload {
  return new Upload(file, options);
}

/** Cancels an upload on the server (deletes its bytes). */
export async function cancelUpload(
  uploadId: string,
  options: Pick<UploadOptions, "endpoint" | "headers" | "transport" | "withCredentials" | "signal">,
): Promise<void> {
  const data = (await execute({ ...options }, CANCEL_UPLOAD, { uploadId })).data;
  const error = rejection(data.cancelUpload as Record<string, unknown>);
  if (error) throw error;
}
