// Test helpers for code that reads or writes object storage: a local S3-compatible server.
export { FakeS3, type FakeS3Error, type FakeS3Request } from "./fake-s3.js";
// Object stores read their endpoint and credentials once per bucket: tests that change them reset.
export { resetObjectStores } from "../dataset/remotes/index.js";
export { FakeGcs } from "./fake-gcs.js";
export { buildHostileCorpus, wideDict, type HostileCase, type CorpusOptions } from "./hostile-corpus.js";
export { withEnv } from "./env.js";
