// The example site's browser uploader: chunked, resumable uploads over the GraphQL multipart
// request spec, in plain JavaScript (no build step).
//
// - Each chunk is an `uploadChunk` mutation sent as a multipart request (operations, map, file),
//   with XMLHttpRequest because fetch cannot report upload progress.
// - The upload id is kept in localStorage under the file's fingerprint (name, size, last
//   modified time, and a SHA-256 of its first and last 64 KiB where Web Crypto is available).
//   After a reload, choosing the same file asks the server for the upload's offset and goes on
//   from there; the browser does not let a page keep access to a file across a reload.
// - The session cookie authenticates; the CSRF token travels in the X-CSRFToken header.
// - At the end the file is hashed (md5, the server's default checksum) and `completeUpload`
//   lets the server compare.
(function () {
  "use strict";

  const root = document.getElementById("uploader");
  if (!root || !root.dataset.endpoint) return;

  const endpoint = root.dataset.endpoint;
  // ?chunk_size=N overrides the page's default, to try resuming with small files.
  let chunkSize =
    Number(new URLSearchParams(location.search).get("chunk_size")) ||
    Number(root.dataset.chunkSize) ||
    1024 * 1024;
  const STORE_KEY = "chunked-graphql:uploads";
  const EDGE = 64 * 1024;
  const RETRIES = 5;

  const input = root.querySelector("#upload-file");
  const pauseButton = root.querySelector("#upload-pause");
  const resumeButton = root.querySelector("#upload-resume");
  const bar = root.querySelector("#upload-progress");
  const statusLine = root.querySelector("#upload-status");
  const errorLine = root.querySelector("#upload-error");
  const pendingList = root.querySelector("#upload-pending");

  const UPLOAD_CHUNK = `mutation UploadChunk($file: Upload, $range: String, $name: String, $id: ID) {
    uploadChunk(file: $file, contentRange: $range, filename: $name, uploadId: $id) {
      __typename
      ... on ChunkedUpload { id offset totalSize checksumAlgorithm }
      ... on UploadError { code message }
      ... on MaxBytesExceeded { maxBytes }
      ... on ChunkTooLarge { maxChunkSize }
      ... on OffsetMismatch { expectedOffset }
    }
  }`;
  const COMPLETE_UPLOAD = `mutation CompleteUpload($id: ID, $checksum: String) {
    completeUpload(uploadId: $id, checksum: $checksum) {
      __typename
      ... on ChunkedUpload { id offset filename status }
      ... on UploadError { code message }
    }
  }`;
  const GET_UPLOAD = `query GetUpload($id: ID!) {
    chunkedUpload(id: $id) { id offset totalSize status checksumAlgorithm }
  }`;

  // What each typed error means for the person at the keyboard.
  const PLAIN_WORDS = {
    NOT_FOUND: "The server no longer has this upload. Choose the file again to start over.",
    EXPIRED: "This upload was left unfinished for too long and has expired. Choose the file again to start over.",
    MAX_BYTES_EXCEEDED: "This file is larger than the server accepts.",
    CHECKSUM_MISMATCH: "The file that arrived does not match yours (was it changed while uploading?). Choose it again to upload it from the start.",
    ALREADY_COMPLETE: "This upload has already been completed.",
    INCOMPLETE: "The server is still missing part of the file. Press Resume to send the rest.",
    INVALID_FILENAME: "The server does not accept this file name. Rename the file and try again.",
    AUTHENTICATION_REQUIRED: "Please sign in to upload files.",
  };

  class UploadFailure extends Error {
    constructor(message, { code = null, retry = false } = {}) {
      super(message);
      this.code = code;
      this.retry = retry;
    }
  }

  // --- Remembered uploads (localStorage) ---------------------------------------------------

  function records() {
    try {
      return JSON.parse(localStorage.getItem(STORE_KEY)) || {};
    } catch {
      return {};
    }
  }
  function remember(fingerprint, entry) {
    const all = records();
    all[fingerprint] = { ...all[fingerprint], ...entry, savedAt: Date.now() };
    localStorage.setItem(STORE_KEY, JSON.stringify(all));
  }
  function forget(fingerprint) {
    const all = records();
    delete all[fingerprint];
    localStorage.setItem(STORE_KEY, JSON.stringify(all));
  }

  async function fingerprintOf(file) {
    let edges = "";
    if (window.crypto && crypto.subtle) {
      const head = await file.slice(0, EDGE).arrayBuffer();
      const tail = await file.slice(Math.max(EDGE, file.size - EDGE)).arrayBuffer();
      const both = new Uint8Array(head.byteLength + tail.byteLength);
      both.set(new Uint8Array(head), 0);
      both.set(new Uint8Array(tail), head.byteLength);
      const digest = await crypto.subtle.digest("SHA-256", both);
      edges = Array.from(new Uint8Array(digest), (x) => x.toString(16).padStart(2, "0")).join("");
    }
    return [file.name, file.size, file.lastModified, edges].join(":");
  }

  function showPending() {
    const entries = Object.values(records());
    pendingList.hidden = entries.length === 0;
    pendingList.textContent = "";
    for (const entry of entries) {
      const item = document.createElement("li");
      item.textContent = `${entry.name}: ${percent(entry.offset, entry.size)} sent. Choose the same file to resume.`;
      pendingList.append(item);
    }
  }

  // --- Talking to the server -----------------------------------------------------------------

  function csrfToken() {
    const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // One POST; resolves with the operation's data, rejects with an UploadFailure.
  function post(body, { onProgress, isMultipart }) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      current.xhr = xhr;
      xhr.open("POST", endpoint);
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.setRequestHeader("Accept", "application/json");
      if (!isMultipart) xhr.setRequestHeader("Content-Type", "application/json");
      xhr.responseType = "json";
      if (onProgress) xhr.upload.onprogress = (event) => onProgress(event.loaded);
      xhr.onerror = () =>
        reject(new UploadFailure("The server cannot be reached.", { retry: true }));
      xhr.onabort = () => reject(new UploadFailure("Paused.", { code: "PAUSED" }));
      xhr.onload = () => {
        const answer = xhr.response;
        if (xhr.status === 403) {
          reject(new UploadFailure("The server refused the request: sign in again, then reload this page."));
        } else if (xhr.status >= 500 || xhr.status === 429) {
          reject(new UploadFailure(`The server is having trouble (HTTP ${xhr.status}).`, { retry: true }));
        } else if (!answer || answer.errors || !answer.data) {
          const error = answer && answer.errors ? answer.errors[0] : null;
          const detail = error ? error.message : `HTTP ${xhr.status}`;
          // The server's storage failed for a moment, or an earlier copy of the chunk was still
          // arriving; the upload kept its last good offset.
          const code = error && error.extensions ? error.extensions.code : null;
          const retry = code === "STORAGE_ERROR" || code === "UPLOAD_BUSY";
          reject(new UploadFailure(`The server could not handle the request: ${detail}`, { retry }));
        } else {
          resolve(answer.data);
        }
      };
      xhr.send(body);
    });
  }

  function graphql(query, variables) {
    return post(JSON.stringify({ query, variables }), { isMultipart: false });
  }

  function sendChunk(id, file, start, onProgress) {
    const end = Math.min(start + chunkSize, file.size);
    const form = new FormData();
    // The GraphQL multipart request spec: operations (file variable null), map, then the file.
    form.append("operations", JSON.stringify({
      query: UPLOAD_CHUNK,
      variables: { id, name: file.name, range: `bytes ${start}-${end - 1}/${file.size}`, file: null },
    }));
    form.append("map", JSON.stringify({ 0: ["variables.file"] }));
    form.append("0", file.slice(start, end), file.name);
    return post(form, { onProgress, isMultipart: true }).then((data) => data.uploadChunk);
  }

  // Retries what may pass on its own (no answer, HTTP 5xx), waiting longer each time.
  async function withRetries(attempt) {
    for (let retry = 0; ; retry++) {
      try {
        return await attempt();
      } catch (failure) {
        if (!failure.retry || retry >= RETRIES || current.paused) throw failure;
        const wait = 500 * 2 ** retry;
        setStatus(`${failure.message} Trying again in ${Math.round(wait / 100) / 10} s…`);
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  function typedError(result) {
    let words = PLAIN_WORDS[result.code] || result.message;
    if (result.code === "MAX_BYTES_EXCEEDED" && result.maxBytes) {
      words += ` The limit is ${size(result.maxBytes)}.`;
    }
    return new UploadFailure(words, { code: result.code });
  }

  // --- The upload ---------------------------------------------------------------------------

  const current = { file: null, fingerprint: null, id: null, offset: 0, paused: false, running: false, xhr: null, algorithm: "md5" };

  async function start(file) {
    Object.assign(current, { file, id: null, offset: 0, paused: false, algorithm: "md5" });
    showError("");
    setStatus("Preparing…");
    current.fingerprint = await fingerprintOf(file);
    const known = records()[current.fingerprint];
    if (known) {
      const data = await withRetries(() => graphql(GET_UPLOAD, { id: known.id }));
      const upload = data.chunkedUpload;
      if (upload && upload.status === "UPLOADING" && upload.totalSize === file.size) {
        Object.assign(current, { id: upload.id, offset: upload.offset, algorithm: upload.checksumAlgorithm });
        root.dataset.resumedFrom = String(upload.offset);
        setStatus(`Resuming at ${percent(upload.offset, file.size)}.`);
      } else {
        forget(current.fingerprint);
      }
    }
    await run();
  }

  async function run() {
    const file = current.file;
    current.running = true;
    current.paused = false;
    setButtons();
    try {
      while (current.id === null || current.offset < file.size) {
        if (current.paused) throw new UploadFailure("Paused.", { code: "PAUSED" });
        const started = current.offset;
        const result = await withRetries(() =>
          sendChunk(current.id, file, started, (loaded) => setProgress(started + loaded)),
        );
        if (result.__typename === "OffsetMismatch" && current.id !== null) {
          // The server had this chunk already (an answer lost on the way): go on from there.
          current.offset = result.expectedOffset;
          continue;
        }
        if (result.__typename === "ChunkTooLarge" && result.maxChunkSize < chunkSize) {
          // The server takes smaller chunks: send the same bytes again in the size it accepts.
          chunkSize = result.maxChunkSize;
          continue;
        }
        if (result.__typename !== "ChunkedUpload") throw typedError(result);
        if (current.id === null) {
          current.id = result.id;
          current.algorithm = result.checksumAlgorithm;
        }
        current.offset = result.offset;
        remember(current.fingerprint, { id: current.id, name: file.name, size: file.size, offset: current.offset });
        setProgress(current.offset);
        setStatus(`Uploading: ${size(current.offset)} of ${size(file.size)} (${percent(current.offset, file.size)}).`);
      }
      await complete();
    } catch (failure) {
      if (failure.code === "PAUSED") {
        setStatus(`Paused at ${percent(current.offset, file.size)}.`);
      } else {
        if (["NOT_FOUND", "EXPIRED", "CHECKSUM_MISMATCH", "ALREADY_COMPLETE"].includes(failure.code)) {
          // Nothing left to resume: the next try starts with choosing the file.
          forget(current.fingerprint);
          current.file = null;
        }
        current.paused = true;
        showError(failure.message);
        setStatus(`Stopped at ${percent(current.offset, file.size)}.`);
        root.dataset.state = "failed";
      }
    } finally {
      current.running = false;
      current.xhr = null;
      setButtons();
      showPending();
    }
  }

  async function complete() {
    const file = current.file;
    if (current.algorithm !== "md5") {
      throw new UploadFailure(`This page can only compute md5 checksums; the server asks for ${current.algorithm}.`);
    }
    setStatus("Checking the file…");
    const md5 = new window.ChunkedGraphQLMD5();
    for (let at = 0; at < file.size; at += 4 * 1024 * 1024) {
      md5.update(new Uint8Array(await file.slice(at, at + 4 * 1024 * 1024).arrayBuffer()));
    }
    const data = await withRetries(() =>
      graphql(COMPLETE_UPLOAD, { id: current.id, checksum: md5.hexdigest() }),
    );
    const result = data.completeUpload;
    if (result.__typename !== "ChunkedUpload" && result.code !== "ALREADY_COMPLETE") {
      throw typedError(result);
    }
    forget(current.fingerprint);
    root.dataset.uploadId = current.id;
    root.dataset.state = "complete";
    setProgress(file.size);
    const resumed = root.dataset.resumedFrom;
    setStatus(
      `Upload complete: ${file.name} (${size(file.size)})` +
        (resumed ? `, resumed at ${percent(Number(resumed), file.size)}.` : "."),
    );
  }

  // --- The page -----------------------------------------------------------------------------

  function size(bytes) {
    const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
  }
  function percent(offset, total) {
    return `${Math.floor((100 * offset) / total)}%`;
  }
  function setProgress(offset) {
    bar.max = current.file.size;
    bar.value = offset;
    bar.dataset.offset = String(current.offset);
  }
  function setStatus(text) {
    statusLine.textContent = text;
  }
  function showError(text) {
    errorLine.textContent = text;
    errorLine.hidden = !text;
  }
  function setButtons() {
    pauseButton.disabled = !current.running;
    resumeButton.disabled = current.running || !current.file || root.dataset.state === "complete";
  }

  input.addEventListener("change", () => {
    if (!input.files.length) return;
    if (current.xhr) current.xhr.abort();
    delete root.dataset.state;
    delete root.dataset.uploadId;
    delete root.dataset.resumedFrom;
    start(input.files[0]).catch((failure) => showError(failure.message));
  });
  pauseButton.addEventListener("click", () => {
    current.paused = true;
    if (current.xhr) current.xhr.abort();
  });
  resumeButton.addEventListener("click", async () => {
    if (current.running || !current.file) return;
    showError("");
    try {
      if (current.id) {
        // The chunk cut off by the pause may have arrived: ask where the upload stands.
        const data = await withRetries(() => graphql(GET_UPLOAD, { id: current.id }));
        if (data.chunkedUpload) current.offset = data.chunkedUpload.offset;
      }
      await run();
    } catch (failure) {
      showError(failure.message);
    }
  });

  showPending();
  setButtons();
})();
