// The example site's home page: Uppy's Dashboard with the chunked_graphql uploader plugin, Golden
// Retriever to survive a reload, and the signed-in user's unfinished uploads.
import Uppy from "@uppy/core";
import Dashboard from "@uppy/dashboard";
import GoldenRetriever from "@uppy/golden-retriever";
import { cancelUpload } from "chunked-graphql-client";
import ChunkedGraphQL from "chunked-graphql-client/uppy";
import "@uppy/core/css/style.min.css";
import "@uppy/dashboard/css/style.min.css";

const root = document.getElementById("uploader");
const endpoint = root?.dataset.endpoint;

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

const headers = () => ({ "X-CSRFToken": csrfToken() });

function size(bytes) {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The user's unfinished uploads, each with a Cancel button. */
async function showPending() {
  const list = document.getElementById("upload-pending");
  const answer = await fetch(endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers() },
    body: JSON.stringify({
      query: "{ chunkedUploads(status: UPLOADING) { id filename totalSize missingRanges { start end } expired } }",
    }),
  }).then((response) => response.json());
  const uploads = (answer.data?.chunkedUploads ?? []).filter((upload) => !upload.expired);
  list.replaceChildren();
  for (const upload of uploads) {
    const missing = upload.missingRanges.reduce((sum, r) => sum + r.end - r.start + 1, 0);
    const percent = Math.floor((100 * (upload.totalSize - missing)) / upload.totalSize);
    const item = document.createElement("li");
    item.dataset.uploadId = upload.id;
    item.append(
      `${upload.filename} (${size(upload.totalSize)}): ${percent}% sent. Add the same file to resume. `,
    );
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    cancel.addEventListener("click", async () => {
      await cancelUpload(upload.id, { endpoint, headers }).catch(() => undefined);
      await showPending();
    });
    item.append(cancel);
    list.append(item);
  }
  list.hidden = uploads.length === 0;
}

if (root && endpoint) {
  const query = new URLSearchParams(location.search);
  const chunkSize = Number(query.get("chunk_size")) || Number(root.dataset.chunkSize) || undefined;
  const parallel = Number(query.get("parallel")) || undefined;
  const uppy = new Uppy({ autoProceed: false })
    .use(Dashboard, {
      inline: true,
      target: "#uploader-dashboard",
      height: 360,
      proudlyDisplayPoweredByUppy: false,
      showProgressDetails: true,
    })
    // Files up to 4 GiB are kept in IndexedDB, so that a reload can resume them.
    .use(GoldenRetriever, {
      serviceWorker: false,
      indexedDB: { maxFileSize: 4 * 1024 ** 3, maxTotalSize: 8 * 1024 ** 3 },
    })
    .use(ChunkedGraphQL, { endpoint, headers, chunkSize, parallel });
  uppy.on("upload-success", (file, response) => {
    root.dataset.state = "complete";
    root.dataset.uploadId = response.body.id;
    document.getElementById("upload-status").textContent =
      `Upload complete: ${file.name} (${size(file.size)}).`;
    void showPending();
  });
  uppy.on("upload-error", (file, error) => {
    root.dataset.state = "failed";
    const shown = document.getElementById("upload-error");
    shown.textContent = error.message;
    shown.dataset.code = error.code ?? "";
    shown.hidden = false;
  });
  // A new start, or a retry of what failed: the last error no longer stands.
  const started = () => {
    root.dataset.state = "uploading";
    document.getElementById("upload-error").hidden = true;
  };
  uppy.on("upload", started);
  uppy.on("retry-all", started);
  uppy.on("upload-retry", started);
  window.uppy = uppy;
  void showPending();
}
