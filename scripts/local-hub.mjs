#!/usr/bin/env node
// A local stand-in for the Hugging Face Hub (the fake server the hub tests use: repo create, LFS upload, commit,
// tree, resolve), for trying `mosaicbert hub push/pull` without an account or network. Keeps running until
// Ctrl-C; repos live in memory. Needs `pnpm build` (it loads packages/hub/dist).
//   node scripts/local-hub.mjs [token]      prints the URL and the token to pass as --hub-url / --token
import { FakeHub } from "../packages/hub/dist/testing/index.js";

const token = process.argv[2] ?? "hf_local_token";
const hub = await new FakeHub(token).start();
console.log(`local Hub at ${hub.url} (token ${token}); Ctrl-C stops it`);
console.log(`  pnpm mosaicbert hub push runs/tiny-cpu/$(cat runs/tiny-cpu/latest) me/tiny-cpu --hub-url ${hub.url} --token ${token}`);
console.log(`  pnpm mosaicbert hub pull me/tiny-cpu --to ./tiny-cpu-copy --hub-url ${hub.url} --token ${token}`);
process.on("SIGINT", () => hub.close().then(() => process.exit(0)));
