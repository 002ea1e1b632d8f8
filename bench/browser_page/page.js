// The benchmark page: uploads the file chosen in #file with the package's upload(), timing the
// whole upload and adding up where the time goes (reading the File, hashing, the requests).
import { upload } from "chunked-graphql-client";

function freshTimes() {
  return {
    read: 0, reads: 0, readBytes: 0,
    hash: {}, hashedBytes: {},
    xhr: 0, xhrs: 0, xhrBodySent: 0,
  };
}
globalThis.benchTimes = freshTimes();

// Reading the File: the package reads chunks (and gaps, for the hash) with slice().arrayBuffer().
const arrayBuffer = Blob.prototype.arrayBuffer;
Blob.prototype.arrayBuffer = async function () {
  const started = performance.now();
  const buffer = await arrayBuffer.call(this);
  const times = globalThis.benchTimes;
  times.read += performance.now() - started;
  times.reads += 1;
  times.readBytes += buffer.byteLength;
  return buffer;
};

// The requests: from send() to the answer, and to the last byte of the body sent.
const send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.send = function (body) {
  const started = performance.now();
  const times = globalThis.benchTimes;
  this.upload.addEventListener("load", () => { times.xhrBodySent += performance.now() - started; });
  this.addEventListener("loadend", () => {
    times.xhr += performance.now() - started;
    times.xhrs += 1;
  });
  return send.call(this, body);
};

// The package's hashing worker, fetched now: the page's routes are gone once it has loaded, and
// the worker starts with each upload. Hashing in the worker leaves the read and hash times above
// at zero: they are then the worker's, off the main thread.
const workerSource = await (await fetch("/__bench__/client/hash-worker.js")).text();
const workerUrl = URL.createObjectURL(new Blob([workerSource], { type: "text/javascript" }));
const hashWorkerOptions = {
  worker: () => new Worker(workerUrl, { type: "module" }),
  thread: false,
};

globalThis.runUpload = async ({ chunkSize, parallel, hashing }) => {
  const file = document.getElementById("file").files[0];
  globalThis.benchTimes = freshTimes();
  const started = performance.now();
  const result = await upload(file, {
    endpoint: new URL("/graphql/", location.href).href,
    chunkSize,
    parallel,
    hashWorker: hashWorkerOptions[hashing],
  });
  const seconds = (performance.now() - started) / 1000;
  return { seconds, id: result.id, status: result.status, times: globalThis.benchTimes };
};

document.getElementById("state").textContent = "ready";
