import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileStore } from "../src/node.js";
import { LocalStorageStore, MemoryStore, type ResumeRecord } from "../src/store.js";

const record: ResumeRecord = {
  uploadId: "0b7f0b2c-3a57-4bd5-9a3e-0c3e3f9b2b1a",
  endpoint: "http://127.0.0.1/graphql/",
  filename: "film.mkv",
  size: 123,
  hash: { algorithm: "md5", offset: 64, state: "AAAA" },
};

class FakeStorage {
  items = new Map<string, string>();
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
}

describe("MemoryStore", () => {
  it("keeps a copy of what it is given", () => {
    const store = new MemoryStore();
    const mine = structuredClone(record);
    store.set("k", mine);
    mine.size = 0;
    expect(store.get("k")).toEqual(record);
  });
});

describe("LocalStorageStore", () => {
  it("stores records as JSON under its prefix", () => {
    const storage = new FakeStorage();
    const store = new LocalStorageStore(storage, "p:");
    store.set("k", record);
    expect(JSON.parse(storage.items.get("p:k") ?? "")).toEqual(record);
    expect(store.get("k")).toEqual(record);
    store.remove("k");
    expect(store.get("k")).toBeNull();
  });

  it("reads a damaged record as none", () => {
    const storage = new FakeStorage();
    storage.setItem("p:k", "{not json");
    expect(new LocalStorageStore(storage, "p:").get("k")).toBeNull();
  });
});

describe("FileStore", () => {
  it("keeps records across instances", async () => {
    const path = join(await mkdtemp(join(tmpdir(), "cgq-store-")), "resume.json");
    await new FileStore(path).set("k", record);
    expect(await new FileStore(path).get("k")).toEqual(record);
  });

  it("loses none of several changes made at once", async () => {
    const path = join(await mkdtemp(join(tmpdir(), "cgq-store-")), "resume.json");
    const store = new FileStore(path);
    await Promise.all(["a", "b", "c", "d"].map((key) => store.set(key, record)));
    await store.remove("b");
    expect(Object.keys(JSON.parse(await readFile(path, "utf8"))).sort()).toEqual(["a", "c", "d"]);
  });

  it("has nothing before the first change", async () => {
    const path = join(await mkdtemp(join(tmpdir(), "cgq-store-")), "resume.json");
    expect(await new FileStore(path).get("k")).toBeNull();
  });
});
