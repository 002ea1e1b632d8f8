/**
 * How a file is cut up before a byte is sent: serially or in parallel, in chunks of what size
 * within the server's limits, and which chunks a resumed parallel upload still has to send.
 * Pure functions of the file's size and the server's answers, so they are tested without one.
 */
import { UploadRejected } from "./errors.js";
import type { ByteRange } from "./generated/graphql.js";
import type { UploadInfo } from "./types.js";

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;
/** Senders of a parallel upload when `parallel` is not given. */
export const DEFAULT_PARALLEL = 4;

export interface ServerLimits {
  maxBytes: number | null;
  maxChunkSize: number;
  minParallelChunkSize: number;
  maxParts: number | null;
  expiresIn: number;
  checksumAlgorithm: string;
  chunkChecksumAlgorithms: string[];
}

/** The chunk size of a parallel upload of `size` bytes, or null to send serially. */
export function parallelChunkSize(
  size: number,
  limits: ServerLimits,
  chunkSize: number | undefined,
  parallel: number | undefined,
): number | null {
  const senders = parallel ?? DEFAULT_PARALLEL;
  if (senders <= 1 || limits.maxParts === 1) return null;
  let smallest = limits.minParallelChunkSize;
  if (limits.maxParts) smallest = Math.max(smallest, Math.ceil(size / limits.maxParts));
  const largest = limits.maxChunkSize;
  if (chunkSize === undefined) {
    if (smallest > largest) return null;
    const chosen = Math.min(Math.max(DEFAULT_CHUNK_SIZE, smallest), largest);
    return size > chosen ? chosen : null;
  }
  if (size <= chunkSize) return null;
  if (smallest <= chunkSize && chunkSize <= largest) return chunkSize;
  if (parallel === undefined) return null;
  throw new UploadRejected(
    "InvalidChunkSize",
    "INVALID_CHUNK_SIZE",
    smallest > largest
      ? `This server takes no parallel upload of ${size} bytes: send it serially (parallel: 1).`
      : `A parallel upload of this file needs chunks of ${smallest} to ${largest} bytes on this server, not ${chunkSize}.`,
    400,
    { minChunkSize: smallest, maxChunkSize: largest },
  );
}

/** The starts of the chunks of `chunkSize` that cover `ranges`, ascending. */
export function chunkStarts(ranges: ByteRange[], chunkSize: number): number[] {
  const starts = new Set<number>();
  for (const { start, end } of ranges) {
    for (let index = Math.floor(start / chunkSize); index <= Math.floor(end / chunkSize); index++) {
      starts.add(index * chunkSize);
    }
  }
  return [...starts].sort((a, b) => a - b);
}

/** The bytes the server holds of `upload`: of a parallel upload, more than its `offset` (the
 * stored prefix without a gap) when chunks after a gap have arrived. */
export function storedBytes(upload: UploadInfo): number {
  const total = upload.totalSize ?? 0;
  return total - upload.missingRanges.reduce((sum, r) => sum + (r.end - r.start + 1), 0);
}

/** Bytes in words: "976.6 KiB", "3.0 MiB". */
export function formatSize(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
