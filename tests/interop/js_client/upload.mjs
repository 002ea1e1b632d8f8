// Uploads a file with the package in js/client (built to js/client/dist) and prints a JSON report.
//   node upload.mjs ENDPOINT PATH [--chunk-size N] [--parallel N] [--store FILE] [--stop-after N]
// TOKEN in the environment: the bearer token. --stop-after N aborts once N chunks are
// acknowledged (a crash, as far as the server and the store can tell); --pause-after N pauses
// then for half a second, and counts the requests sent meanwhile.
import { parseArgs } from "node:util";
import { upload } from "../../../js/client/dist/index.js";
import { FileStore, openFile } from "../../../js/client/dist/node.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "chunk-size": { type: "string" },
    parallel: { type: "string" },
    store: { type: "string" },
    "stop-after": { type: "string" },
    "pause-after": { type: "string" },
  },
});
const [endpoint, path] = positionals;

// What the server is sent: the bytes of every chunk request's file part.
let chunkBytes = 0;
const ranges = new Map();
const realFetch = globalThis.fetch;
let requestsWhilePaused = 0;
globalThis.fetch = (url, init) => {
  if (task?.paused) requestsWhilePaused++;
  if (init?.body instanceof FormData) {
    const size = init.body.get("0").size;
    chunkBytes += size;
    ranges.set(JSON.parse(init.body.get("operations")).variables.contentRange, size);
  }
  return realFetch(url, init);
};

// What the package reads of the file itself (to hash it): the bytes of every slice it reads.
// A slice sent as a chunk's body is not counted here; fetch reads that from the file.
const file = await openFile(path);
let readFromFile = 0;
const counted = {
  name: file.name,
  size: file.size,
  lastModified: file.lastModified,
  type: file.type,
  slice(start, end) {
    const piece = file.slice(start, end);
    const read = piece.arrayBuffer.bind(piece);
    piece.arrayBuffer = async () => {
      readFromFile += piece.size;
      return read();
    };
    return piece;
  },
};
const stopAfter = values["stop-after"] ? Number(values["stop-after"]) : Infinity;
const pauseAfter = values["pause-after"] ? Number(values["pause-after"]) : Infinity;
let pauses = 0;
let acknowledgedChunks = 0;
let lastAcknowledged = -1;
const progress = [];
const task = upload(counted, {
  endpoint,
  headers: () => ({ Authorization: `Bearer ${process.env.TOKEN}` }),
  chunkSize: values["chunk-size"] ? Number(values["chunk-size"]) : undefined,
  parallel: values.parallel ? Number(values.parallel) : undefined,
  store: values.store ? new FileStore(values.store) : null,
  onProgress(event) {
    progress.push(event);
    if (event.bytesAcknowledged > lastAcknowledged) {
      if (lastAcknowledged >= 0 && event.bytesAcknowledged > event.resumedFrom) acknowledgedChunks++;
      lastAcknowledged = event.bytesAcknowledged;
      if (acknowledgedChunks >= stopAfter) task.abort("stop-after");
      if (acknowledgedChunks >= pauseAfter && pauses === 0) {
        pauses++;
        task.pause();
        setTimeout(() => task.resume(), 500);
      }
    }
  },
});
const report = { chunkBytes, readFromFile };
try {
  report.completed = await task;
} catch (error) {
  report.error = { code: error.code, message: error.message, fields: error.fields ?? null };
}
Object.assign(report, {
  id: task.id,
  chunkBytes,
  distinctChunkBytes: [...ranges.values()].reduce((a, b) => a + b, 0),
  readFromFile,
  readForHash: task.bytesReadForHash,
  pauses,
  requestsWhilePaused,
  resumedFrom: progress[0]?.resumedFrom ?? null,
  lastProgress: progress.at(-1) ?? null,
  monotonic: progress.every((p, i) => i === 0 || p.bytesAcknowledged >= progress[i - 1].bytesAcknowledged),
});
console.log(JSON.stringify(report));
