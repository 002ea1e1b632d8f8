/** Node helpers: a resume store in a JSON file, and a file opened as a Blob. */
import { openAsBlob } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { ResumeRecord, ResumeStore } from "./store.js";

/** Records in one JSON file, rewritten whole (atomically, through a rename) on each change. */
export class FileStore implements ResumeStore {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  async get(key: string): Promise<ResumeRecord | null> {
    return (await this.read())[key] ?? null;
  }

  set(key: string, record: ResumeRecord): Promise<void> {
    return this.change((records) => {
      records[key] = record;
    });
  }

  remove(key: string): Promise<void> {
    return this.change((records) => {
      delete records[key];
    });
  }

  private async read(): Promise<Record<string, ResumeRecord>> {
    try {
      return JSON.parse(await readFile(this.path, "utf8")) as Record<string, ResumeRecord>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
      if (error instanceof SyntaxError) return {};
      throw error;
    }
  }

  private change(edit: (records: Record<string, ResumeRecord>) => void): Promise<void> {
    const next = this.queue.then(async () => {
      const records = await this.read();
      edit(records);
      await mkdir(dirname(this.path), { recursive: true });
      const temporary = `${this.path}.${process.pid}.tmp`;
      await writeFile(temporary, JSON.stringify(records));
      await rename(temporary, this.path);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** A file on disk as a File (name, size, lastModified), read lazily. */
export async function openFile(path: string): Promise<File> {
  const blob = await openAsBlob(path);
  const { stat } = await import("node:fs/promises");
  const info = await stat(path);
  return new File([blob], basename(path), { lastModified: info.mtimeMs });
}
