/**
 * Hashing with hash-wasm: the whole file's digest, continued across runs from a saved state,
 * and the per-chunk checksums.
 */
import {
  createBLAKE2b,
  createBLAKE2s,
  createCRC32,
  createMD5,
  createSHA1,
  createSHA224,
  createSHA256,
  createSHA3,
  createSHA384,
  createSHA512,
  type IHasher,
} from "hash-wasm";
import { UploadFailure } from "./errors.js";

const CRC32C_POLYNOMIAL = 0x82f63b78;

/** Whole-file algorithms by the name the server gives (Python's hashlib names). */
const FACTORIES: Record<string, () => Promise<IHasher>> = {
  md5: createMD5,
  sha1: createSHA1,
  sha224: createSHA224,
  sha256: createSHA256,
  sha384: createSHA384,
  sha512: createSHA512,
  sha3_224: () => createSHA3(224),
  sha3_256: () => createSHA3(256),
  sha3_384: () => createSHA3(384),
  sha3_512: () => createSHA3(512),
  blake2b: () => createBLAKE2b(512),
  blake2s: () => createBLAKE2s(256),
};

/** The whole-file algorithms this client can compute. */
export const FILE_ALGORITHMS = Object.keys(FACTORIES);

/** The per-chunk checksums sent, best first, when the server checks them. */
export const CHUNK_ALGORITHMS = ["crc32c", "sha256", "md5"] as const;

export async function createHasher(algorithm: string): Promise<IHasher> {
  const factory = FACTORIES[algorithm];
  if (factory === undefined) {
    throw new UploadFailure(
      "UNSUPPORTED",
      `The server asks for checksum ${JSON.stringify(algorithm)}, which this client cannot compute.`,
    );
  }
  const hasher = await factory();
  hasher.init();
  return hasher;
}

/** `"<algorithm>:<hex>"` of one chunk, as uploadChunk's `chunkChecksum` takes it. */
export async function chunkChecksum(algorithm: string, data: Uint8Array): Promise<string> {
  return (await createChunkHasher(algorithm))(data);
}

/** A function giving `"<algorithm>:<hex>"` of a chunk, one hasher reused for every chunk. */
export async function createChunkHasher(algorithm: string): Promise<(data: Uint8Array) => string> {
  const hasher =
    algorithm === "crc32c" ? await createCRC32(CRC32C_POLYNOMIAL) : await createHasher(algorithm);
  return (data) => {
    hasher.init();
    hasher.update(data);
    return `${algorithm}:${hasher.digest("hex")}`;
  };
}

export function pickChunkAlgorithm(offered: readonly string[]): string | null {
  return CHUNK_ALGORITHMS.find((name) => offered.includes(name)) ?? null;
}

/** A saved position of the whole-file hash: the bytes 0..offset-1 hashed, and the state. */
export interface HashCheckpoint {
  algorithm: string;
  offset: number;
  /** hash-wasm's saved state, base64. */
  state: string;
}

export function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

export function fromBase64(text: string): Uint8Array {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

/** Something to read the file from: a Blob or File (browsers, and Node's `openAsBlob`). */
export interface Source {
  readonly size: number;
  slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

const READ_BLOCK = 4 * 1024 * 1024;

/** The bytes `start` to `end - 1` of the file; fails if the file no longer has them all. */
export async function readChunk(source: Source, start: number, end: number): Promise<Uint8Array> {
  const data = new Uint8Array(await source.slice(start, end).arrayBuffer());
  if (data.byteLength !== end - start) {
    throw new UploadFailure("LOCAL_FILE_ERROR", "The file became shorter while it was uploaded.");
  }
  return data;
}

/**
 * The whole file's digest, hashed in file order from the chunks fed to it. Bytes not fed by the
 * time the hash reaches them (those the server already had) are read from the source; bytes
 * before the checkpoint it started from are never read again.
 */
export class FileDigest {
  readonly algorithm: string;
  private position: number;
  /** Bytes read from the source for the hash alone (not as a chunk to send). */
  bytesReadForHash = 0;

  private constructor(
    private readonly hasher: IHasher,
    algorithm: string,
    position: number,
    private readonly source: Source,
  ) {
    this.algorithm = algorithm;
    this.position = position;
  }

  static async start(
    algorithm: string,
    source: Source,
    checkpoint?: HashCheckpoint | null,
  ): Promise<FileDigest> {
    const hasher = await createHasher(algorithm);
    let position = 0;
    if (checkpoint && checkpoint.algorithm === algorithm && checkpoint.offset <= source.size) {
      try {
        hasher.load(fromBase64(checkpoint.state));
        position = checkpoint.offset;
      } catch {
        hasher.init();
      }
    }
    return new FileDigest(hasher, algorithm, position, source);
  }

  get offset(): number {
    return this.position;
  }

  /** Hash `data`, the bytes at `start`, after reading any gap before it from the source. */
  async feed(start: number, data: Uint8Array): Promise<void> {
    await this.readTo(start);
    const end = start + data.byteLength;
    if (end > this.position) {
      this.hasher.update(data.subarray(this.position - start));
      this.position = end;
    }
  }

  checkpoint(): HashCheckpoint {
    return { algorithm: this.algorithm, offset: this.position, state: toBase64(this.hasher.save()) };
  }

  async hex(): Promise<string> {
    await this.readTo(this.source.size);
    return this.hasher.digest("hex");
  }

  private async readTo(end: number): Promise<void> {
    while (this.position < end) {
      const stop = Math.min(end, this.position + READ_BLOCK);
      const block = await readChunk(this.source, this.position, stop);
      this.bytesReadForHash += block.byteLength;
      this.hasher.update(block);
      this.position = stop;
    }
  }
}
