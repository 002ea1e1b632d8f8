// Uploads a file in chunks with Apollo Client and apollo-upload-client, the way a JavaScript
// application would, and prints what happened as one JSON object on stdout.
//
//   node upload.mjs ENDPOINT FILE [--chunk-size N] [--stop-after N] [--resume ID]
//                                 [--first-offset N] [--without-possible-types]
//
// The bearer token comes from $TOKEN. --stop-after ends the run after N chunks (an
// interruption); --resume ID continues that upload from the offset the server reports;
// --first-offset sends a first chunk that does not start at 0 (to see a typed error).

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { parseArgs } from "node:util";

import { ApolloClient, gql, InMemoryCache } from "@apollo/client";
import UploadHttpLink from "apollo-upload-client/UploadHttpLink.mjs";

// Generated from the schema (tests/interop/test_apollo.py checks it against schema.graphql).
const possibleTypes = JSON.parse(readFileSync(new URL("./possible-types.json", import.meta.url)));

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "chunk-size": { type: "string", default: "65536" },
    "stop-after": { type: "string" },
    resume: { type: "string" },
    "first-offset": { type: "string" },
    "without-possible-types": { type: "boolean", default: false },
  },
});
const [endpoint, path] = positionals;

const UPLOAD_CHUNK = gql`
  mutation UploadChunk($file: Upload, $range: String, $name: String, $id: ID) {
    uploadChunk(file: $file, contentRange: $range, filename: $name, uploadId: $id) {
      __typename
      ... on ChunkedUpload { id offset totalSize checksumAlgorithm }
      ... on UploadError { code message httpStatus }
      ... on OffsetMismatch { expectedOffset providedOffset }
    }
  }
`;

const COMPLETE_UPLOAD = gql`
  mutation CompleteUpload($id: ID, $checksum: String) {
    completeUpload(uploadId: $id, checksum: $checksum) {
      __typename
      ... on ChunkedUpload { id offset status completedAt }
      ... on UploadError { code message httpStatus }
    }
  }
`;

const GET_UPLOAD = gql`
  query GetUpload($id: ID!) {
    chunkedUpload(id: $id) { id offset totalSize status checksumAlgorithm }
  }
`;

const client = new ApolloClient({
  link: new UploadHttpLink({
    uri: endpoint,
    headers: { Authorization: `Bearer ${process.env.TOKEN}` },
  }),
  // The mutations return unions, and their errors are selected through the UploadError
  // interface: the cache can only match those fragments when it knows the possible types.
  cache: new InMemoryCache(options["without-possible-types"] ? {} : { possibleTypes }),
});

const content = await readFile(path);
const name = basename(path);
const chunkSize = Number(options["chunk-size"]);
const report = { offsets: [] };

async function sendChunk(id, start) {
  const end = Math.min(start + chunkSize, content.length);
  const { data } = await client.mutate({
    mutation: UPLOAD_CHUNK,
    variables: {
      id,
      name,
      range: `bytes ${start}-${end - 1}/${content.length}`,
      file: new Blob([content.subarray(start, end)]),
    },
  });
  return data.uploadChunk;
}

let id = options.resume ?? null;
let offset = Number(options["first-offset"] ?? 0);
let algorithm = "md5";
if (id) {
  const { data } = await client.query({
    query: GET_UPLOAD,
    variables: { id },
    fetchPolicy: "network-only",
  });
  offset = data.chunkedUpload.offset;
  algorithm = data.chunkedUpload.checksumAlgorithm;
  report.resumedFrom = offset;
}

let sent = 0;
while (offset < content.length) {
  if (options["stop-after"] !== undefined && sent >= Number(options["stop-after"])) {
    report.id = id;
    report.stopped = true;
    console.log(JSON.stringify(report));
    process.exit(0);
  }
  const result = await sendChunk(id, offset);
  if (result.__typename !== "ChunkedUpload") {
    report.error = result;
    console.log(JSON.stringify(report));
    process.exit(0);
  }
  id = result.id;
  offset = result.offset;
  algorithm = result.checksumAlgorithm;
  report.offsets.push(offset);
  sent += 1;
}

const checksum = createHash(algorithm).update(content).digest("hex");
const { data } = await client.mutate({ mutation: COMPLETE_UPLOAD, variables: { id, checksum } });
report.id = id;
report.completed = data.completeUpload;
console.log(JSON.stringify(report));
