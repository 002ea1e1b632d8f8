import { describe, expect, it } from "vitest";
import { GraphQLRequestError, UploadFailure, UploadRejected, rejection } from "../src/errors.js";
import { multipartBody, parseAnswer } from "../src/transport.js";

describe("typed errors", () => {
  it("become UploadRejected with the code and the extra fields", () => {
    const error = rejection({
      __typename: "InvalidChunkSize",
      code: "INVALID_CHUNK_SIZE",
      message: "Chunks of 65536 to 8388608 bytes.",
      httpStatus: 400,
      minChunkSize: 65536,
      maxChunkSize: 8388608,
    });
    expect(error).toBeInstanceOf(UploadRejected);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      code: "INVALID_CHUNK_SIZE",
      typename: "InvalidChunkSize",
      httpStatus: 400,
      message: "Chunks of 65536 to 8388608 bytes.",
      fields: { minChunkSize: 65536, maxChunkSize: 8388608 },
    });
  });

  it("keep a QuotaExceeded's quota and limit", () => {
    const error = rejection({
      __typename: "QuotaExceeded",
      code: "QUOTA_EXCEEDED",
      message: "Too many.",
      httpStatus: 403,
      quota: "INCOMPLETE_UPLOADS",
      limit: 3,
    });
    expect(error?.fields).toEqual({ quota: "INCOMPLETE_UPLOADS", limit: 3 });
  });

  it("are not made of a ChunkedUpload", () => {
    expect(rejection({ __typename: "ChunkedUpload", id: "x", offset: 0 })).toBeNull();
  });
});

describe("answers", () => {
  it("give the data of a GraphQL result", () => {
    expect(parseAnswer(200, '{"data": {"a": 1}}').data).toEqual({ a: 1 });
  });

  it.each(["STORAGE_ERROR", "UPLOAD_BUSY"])("make %s a retryable GraphQL error", (code) => {
    const body = JSON.stringify({ data: null, errors: [{ message: "x", extensions: { code } }] });
    const error = (() => {
      try {
        parseAnswer(200, body);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(GraphQLRequestError);
    expect(error).toMatchObject({ code: "GRAPHQL_ERROR", graphqlCode: code, retryable: true });
  });

  it("make a validation error final", () => {
    const body = JSON.stringify({ errors: [{ message: "Cannot query field" }] });
    expect(() => parseAnswer(400, body)).toThrowError(
      expect.objectContaining({ code: "GRAPHQL_ERROR", retryable: false }),
    );
  });

  it("make a 5xx page a retryable server error", () => {
    expect(() => parseAnswer(502, "<html>Bad gateway</html>")).toThrowError(
      expect.objectContaining({ code: "SERVER_ERROR", httpStatus: 502, retryable: true }),
    );
  });

  it("make a 4xx page a final server error", () => {
    expect(() => parseAnswer(404, "<html>Not found</html>")).toThrowError(
      expect.objectContaining({ code: "SERVER_ERROR", httpStatus: 404, retryable: false }),
    );
  });

  it("are UploadFailure errors throughout", () => {
    expect(new GraphQLRequestError("m", undefined, [])).toBeInstanceOf(UploadFailure);
  });
});

describe("the multipart body", () => {
  it("follows the GraphQL multipart request spec", async () => {
    const form = multipartBody("mutation M { x }", { uploadId: "u" }, {
      name: "a.bin",
      data: new Blob(["abc"]),
    });
    expect(JSON.parse(String(form.get("operations")))).toEqual({
      query: "mutation M { x }",
      variables: { uploadId: "u", file: null },
    });
    expect(JSON.parse(String(form.get("map")))).toEqual({ "0": ["variables.file"] });
    const part = form.get("0") as File;
    expect([part.name, await part.text()]).toEqual(["a.bin", "abc"]);
  });
});
