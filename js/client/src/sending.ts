/**
 * The two loops that send an upload's chunks. Serially: one chunk after another at the offset
 * the server confirmed, the next one read and hashed while this one is sent. In parallel:
 * several senders take the chunks the upload lacks, read and hashed in ascending order so the
 * digest sees the file once and in order. Sending one chunk, pausing and counting progress stay
 * with the upload (upload.ts), which hands them to the loops as a `Sending`.
 */
import { UploadRejected } from "./errors.js";
import type { Hashing, ReadChunk } from "./hashing.js";
import { chunkStarts } from "./plan.js";
import type { UploadInfo } from "./types.js";

/** Consecutive OFFSET_MISMATCH answers moved on from (each to the server's offset) before giving
 * up: more than a few in a row means someone else is writing the same upload. */
const MAX_RESYNCS = 3;
/** Chunks of a parallel upload read and hashed ahead of the senders, at most. */
const READ_AHEAD = 2;

/** What the loops need of the running upload. */
export interface Sending {
  /** The file's size. */
  size: number;
  hashing: Hashing;
  /** Called as each chunk's bytes have gone into the digest: its checkpoint can be saved. */
  saveHash(): void;
  /** Resolves once the upload is not paused; rejects once it is aborted. */
  waitWhilePaused(): Promise<void>;
  /** A signal that fires on a pause or an abort; a new one after each resume, so per chunk. */
  chunkSignal(): AbortSignal;
  /** Whether `error` is a request cut off by a pause, its chunk to be sent again on resume. */
  interruptedByPause(error: unknown): boolean;
  /** Sends one chunk; answers the upload as the server holds it after. */
  sendChunk(start: number, chunk: ReadChunk, signal: AbortSignal): Promise<UploadInfo>;
  /** The server holds the file up to `offset` (a serial upload). */
  acknowledgedUpTo(offset: number): void;
  /** The server holds `bytes` more (a chunk of a parallel upload). */
  acknowledgedMore(bytes: number): void;
}

/** Sends from the upload's offset in chunks of `chunkSize`, smaller if the server asks. */
export async function sendSerial(
  upload: UploadInfo,
  chunkSize: number,
  sending: Sending,
): Promise<UploadInfo> {
  const { size, hashing } = sending;
  let offset = upload.offset;
  let resyncs = 0;
  // The next chunk is read and hashed while this one is sent. Its bytes go into the digest
  // then, before the server has them: the digest is of the file, fed by position, so a chunk
  // sent again later (after a resync, or cut smaller) is not hashed twice.
  let ahead: { start: number; end: number; chunk: Promise<ReadChunk> } | null = null;
  const hashed = (start: number, end: number): Promise<ReadChunk> => {
    const found = ahead !== null && ahead.start === start && ahead.end === end ? ahead : null;
    ahead = null;
    return found ? found.chunk : hashing.chunk(start, end, true);
  };
  const readAhead = (start: number, end: number) => {
    const chunk = hashing.chunk(start, end, true);
    // A failure is seen when the chunk is taken, or not at all if it never is.
    chunk.catch(() => undefined);
    ahead = { start, end, chunk };
  };
  while (offset < size) {
    await sending.waitWhilePaused();
    const length = Math.min(chunkSize, size - offset);
    const chunk = await hashed(offset, offset + length);
    sending.saveHash();
    if (offset + length < size) readAhead(offset + length, Math.min(offset + length + chunkSize, size));
    try {
      upload = await sending.sendChunk(offset, chunk, sending.chunkSignal());
    } catch (error) {
      if (sending.interruptedByPause(error)) continue;
      if (error instanceof UploadRejected) {
        const limit = error.fields.maxChunkSize ?? 0;
        if (error.code === "CHUNK_TOO_LARGE" && limit > 0 && limit < length) {
          chunkSize = limit;
          continue;
        }
        if (error.code === "OFFSET_MISMATCH" && resyncs < MAX_RESYNCS) {
          resyncs++;
          offset = error.fields.expectedOffset ?? offset;
          sending.acknowledgedUpTo(offset);
          continue;
        }
      }
      throw error;
    }
    resyncs = 0;
    offset = upload.offset;
    sending.acknowledgedUpTo(offset);
  }
  return upload;
}

/** Sends the chunks the upload lacks, `senders` at once at most; answers the upload as the
 * last chunk to arrive found it. */
export async function sendParallel(
  upload: UploadInfo,
  senders: number,
  sending: Sending,
): Promise<UploadInfo> {
  const { size, hashing } = sending;
  const chunkSize = upload.chunkSize as number;
  const pending = chunkStarts(upload.missingRanges, chunkSize);
  const again: number[] = [];
  const count = Math.min(senders, Math.max(1, pending.length));
  const endOf = (start: number) => Math.min(start + chunkSize, size);
  // The chunks are read and hashed in ascending order, the digest fed as they go, so it sees
  // the file in order and reads it once. The next ones are asked for before a sender is free,
  // so a sender finds its chunk ready; a few, as each is held in memory until sent.
  const hashed = new Map<number, Promise<ReadChunk>>();
  const hashAhead = () => {
    for (const start of pending.slice(0, Math.min(count, READ_AHEAD))) {
      if (hashed.has(start)) continue;
      const chunk = hashing.chunk(start, endOf(start), true);
      chunk.catch(() => undefined); // seen when the chunk is taken
      hashed.set(start, chunk);
    }
  };
  let reading: Promise<unknown> = Promise.resolve();
  type Taken = [start: number, chunk: ReadChunk];
  const take = (): Promise<Taken | null> => {
    const next = reading.then(async (): Promise<Taken | null> => {
      const redo = again.length > 0;
      hashAhead();
      const start = redo ? again.shift() : pending.shift();
      if (start === undefined) return null;
      if (redo) return [start, await hashing.chunk(start, endOf(start), false)];
      const chunk = await (hashed.get(start) as Promise<ReadChunk>);
      hashed.delete(start);
      sending.saveHash();
      return [start, chunk];
    });
    reading = next.catch(() => undefined);
    return next;
  };
  let latest = upload;
  const failure = new AbortController();
  const sender = async () => {
    for (;;) {
      await sending.waitWhilePaused();
      if (failure.signal.aborted) return;
      const chunk = await take();
      if (chunk === null) return;
      const [start, read] = chunk;
      try {
        const signal = AbortSignal.any([sending.chunkSignal(), failure.signal]);
        latest = await sending.sendChunk(start, read, signal);
        sending.acknowledgedMore(read.data.byteLength);
      } catch (error) {
        if (sending.interruptedByPause(error) && !failure.signal.aborted) {
          again.push(start);
          again.sort((a, b) => a - b);
          continue;
        }
        failure.abort(error);
        throw error;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: count }, sender));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  if (failure.signal.aborted) throw failure.signal.reason;
  return latest;
}
