/**
 * Where an unfinished upload is remembered between runs, by the file's fingerprint: its id and
 * the checkpoint of the whole-file hash, so that a resumed upload neither starts over nor reads
 * again the part of the file it had hashed. `saver` keeps that checkpoint current as the chunks
 * are hashed, without a write per chunk piling up behind a slow store.
 */
import type { HashCheckpoint } from "./hash.js";

export interface ResumeRecord {
  uploadId: string;
  endpoint: string;
  filename: string;
  size: number;
  hash?: HashCheckpoint;
}

/** Pluggable: anything with these three methods (sync or async). */
export interface ResumeStore {
  get(key: string): Promise<ResumeRecord | null> | ResumeRecord | null;
  set(key: string, record: ResumeRecord): Promise<void> | void;
  remove(key: string): Promise<void> | void;
}

export class MemoryStore implements ResumeStore {
  private readonly records = new Map<string, ResumeRecord>();

  get(key: string): ResumeRecord | null {
    return this.records.get(key) ?? null;
  }

  set(key: string, record: ResumeRecord): void {
    this.records.set(key, structuredClone(record));
  }

  remove(key: string): void {
    this.records.delete(key);
  }

  keys(): string[] {
    return [...this.records.keys()];
  }
}

interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The browsers' default: `localStorage`, each record under `prefix + fingerprint`. */
export class LocalStorageStore implements ResumeStore {
  constructor(
    private readonly storage: StorageLike = globalThis.localStorage,
    private readonly prefix = "chunked-graphql:",
  ) {}

  get(key: string): ResumeRecord | null {
    const text = this.storage.getItem(this.prefix + key);
    if (text === null) return null;
    try {
      return JSON.parse(text) as ResumeRecord;
    } catch {
      return null;
    }
  }

  set(key: string, record: ResumeRecord): void {
    try {
      this.storage.setItem(this.prefix + key, JSON.stringify(record));
    } catch {
      // Storage full or refused (private mode): the upload goes on, it just cannot resume.
    }
  }

  remove(key: string): void {
    this.storage.removeItem(this.prefix + key);
  }
}

/** localStorage where there is one, else memory. */
export function defaultStore(): ResumeStore {
  try {
    if (typeof globalThis.localStorage !== "undefined" && globalThis.localStorage !== null) {
      return new LocalStorageStore();
    }
  } catch {
    // A browser that refuses access to localStorage.
  }
  return new MemoryStore();
}

/** Runs `save` after each call, never two at once, coalescing calls made meanwhile;
 * `flush()` waits for the last one. */
export function saver(save: () => Promise<void>): { (): void; flush(): Promise<void> } {
  let running: Promise<void> | null = null;
  let wanted = false;
  const loop = async () => {
    while (wanted) {
      wanted = false;
      try {
        await save();
      } catch {
        // A failed save costs a re-read on resume, not the upload.
      }
    }
    running = null;
  };
  const call = () => {
    wanted = true;
    if (running === null) running = loop();
  };
  call.flush = async () => {
    while (running !== null) await running;
  };
  return call;
}
