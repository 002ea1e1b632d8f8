/**
 * An Uppy (6) uploader plugin built on `upload()`: Uppy's progress, pause and resume (per file
 * and for all), cancel (removing a file cancels its upload on the server), retry, and, with
 * Golden Retriever restoring the files after a reload, a resume that sends only what the server
 * lacks and continues the whole-file hash from its saved state.
 *
 *   uppy.use(ChunkedGraphQL, { endpoint: "/graphql/", headers: () => ({ "X-CSRFToken": t }) })
 */
import { BasePlugin, type Body, type Meta, type PluginOpts, type Uppy, type UppyFile } from "@uppy/core";
import { UploadFailure } from "./errors.js";
import type { UploadInfo, UploadOptions } from "./types.js";
import { type Upload, cancelUpload, upload } from "./upload.js";

export type ChunkedGraphQLOptions = PluginOpts &
  Omit<UploadOptions, "onProgress" | "onStart" | "filename" | "signal" | "fingerprint"> & {
    /** Uploads sent at once (each with its own `parallel` chunks). Default 2. */
    limit?: number;
  };

export default class ChunkedGraphQL<M extends Meta, B extends Body> extends BasePlugin<
  ChunkedGraphQLOptions,
  M,
  B
> {
  static VERSION = "0.1.0";
  private readonly tasks = new Map<string, Upload>();
  private readonly removed = new Set<string>();

  constructor(uppy: Uppy<M, B>, opts: ChunkedGraphQLOptions) {
    super(uppy, opts);
    this.id = opts.id ?? "ChunkedGraphQL";
    this.type = "uploader";
  }

  install(): void {
    const { capabilities } = this.uppy.getState();
    this.uppy.setState({ capabilities: { ...capabilities, resumableUploads: true } });
    this.uppy.addUploader(this.handleUpload);
    this.uppy.on("upload-pause", this.onPause);
    this.uppy.on("pause-all", this.onPauseAll);
    this.uppy.on("resume-all", this.onResumeAll);
    this.uppy.on("file-removed", this.onRemoved);
    this.uppy.on("cancel-all", this.onCancelAll);
  }

  uninstall(): void {
    const { capabilities } = this.uppy.getState();
    this.uppy.setState({ capabilities: { ...capabilities, resumableUploads: false } });
    this.uppy.removeUploader(this.handleUpload);
    this.uppy.off("upload-pause", this.onPause);
    this.uppy.off("pause-all", this.onPauseAll);
    this.uppy.off("resume-all", this.onResumeAll);
    this.uppy.off("file-removed", this.onRemoved);
    this.uppy.off("cancel-all", this.onCancelAll);
  }

  private onPause = (file: UppyFile<M, B> | undefined, isPaused: boolean) => {
    const task = file && this.tasks.get(file.id);
    if (task) (isPaused ? task.pause() : task.resume());
  };

  private onPauseAll = () => {
    for (const task of this.tasks.values()) task.pause();
  };

  private onResumeAll = () => {
    for (const task of this.tasks.values()) task.resume();
  };

  private onRemoved = (file: UppyFile<M, B>) => {
    const task = this.tasks.get(file.id);
    if (!task) return;
    this.removed.add(file.id);
    task.abort("removed");
    // Removing a file mid-upload cancels it: its bytes are deleted on the server.
    task.then(undefined, () => {
      if (task.id) void cancelUpload(task.id, this.opts).catch(() => undefined);
    });
  };

  private onCancelAll = () => {
    for (const [id, task] of this.tasks) {
      this.removed.add(id);
      task.abort("cancelled");
    }
  };

  private handleUpload = async (fileIDs: string[]): Promise<void> => {
    const files = fileIDs.map((id) => this.uppy.getFile(id));
    this.uppy.emit("upload-start", files);
    const queue = [...fileIDs];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) await this.uploadFile(id);
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.limit ?? 2, queue.length) }, worker));
  };

  private async uploadFile(id: string): Promise<void> {
    const file = this.uppy.getFile(id);
    if (!file) return;
    const started = Date.now();
    let resumedFrom = 0;
    const endpoint = this.opts.endpoint;
    const task = upload(file.data as Blob, {
      ...this.opts,
      filename: file.name,
      // Uppy's file id is made of name, type, size and modification time, and survives a
      // reload with Golden Retriever.
      fingerprint: () => `uppy|${endpoint}|${file.id}`,
      onProgress: (progress) => {
        resumedFrom = progress.resumedFrom;
        const current = this.uppy.getFile(id);
        if (!current) return;
        this.uppy.emit("upload-progress", current, {
          uploadStarted: started,
          bytesUploaded: progress.bytesSent,
          bytesTotal: progress.bytesTotal,
        });
      },
    });
    this.tasks.set(id, task);
    if (file.isPaused) task.pause();
    try {
      const done: UploadInfo = await task;
      const current = this.uppy.getFile(id);
      if (current) {
        // What the run did, for whoever wants to show or check it.
        this.uppy.setFileState(id, {
          chunkedGraphQL: {
            uploadId: done.id,
            resumedFrom: resumedFrom,
            bytesReadForHash: task.bytesReadForHash,
          },
        } as never);
        this.uppy.emit("upload-success", current, {
          status: 200,
          body: done as unknown as B,
          uploadURL: done.url,
        });
      }
    } catch (error) {
      if (this.removed.has(id)) return;
      const current = this.uppy.getFile(id);
      const failure = error as UploadFailure;
      const shown = Object.assign(new Error(failure.message), {
        name: failure.name ?? "UploadFailure",
        details: failure.code,
        code: failure.code,
        fields: (failure as { fields?: unknown }).fields,
      });
      this.uppy.emit("upload-error", current, shown);
      if (!(error instanceof UploadFailure)) throw error;
    } finally {
      this.tasks.delete(id);
      this.removed.delete(id);
    }
  }
}

export { ChunkedGraphQL };
