#!/usr/bin/env node
// Builds the fast CPU backend's optional native GEMM (native/cpu_gemm.c → build/cpu_gemm.node) when a C compiler
// and Node's C headers are present: the package's `install` script (`npm rebuild @mosaicbert/tensor` re-runs it)
// and part of its `build`. Without them it prints one line and succeeds: the WebAssembly GEMM is used instead.
//   MOSAICBERT_SKIP_CPU_NATIVE_BUILD=1   do not build
//   CC                                   the compiler (default: cc, then gcc, then clang)
//   NODE_INCLUDE_DIR                     Node's C headers (default: <node prefix>/include/node)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const say = (s) => console.log(`@mosaicbert/tensor: ${s}`);
const fallback = "the WebAssembly GEMM is used instead";

function main(env) {
  if (env.MOSAICBERT_SKIP_CPU_NATIVE_BUILD === "1") {
    say(`MOSAICBERT_SKIP_CPU_NATIVE_BUILD=1: native CPU GEMM not built (${fallback})`);
    return;
  }
  if (process.arch !== "x64") {
    say(`native CPU GEMM not built on ${process.arch} (its kernels are x86-64 AVX2/AVX-512; ${fallback})`);
    return;
  }
  const inc = env.NODE_INCLUDE_DIR ?? [join(dirname(process.execPath), "..", "include", "node"), "/usr/include/node", "/usr/local/include/node"].find((d) => existsSync(join(d, "node_api.h")));
  if (!inc || !existsSync(join(inc, "node_api.h"))) {
    say(`Node's C headers (node_api.h) not found: native CPU GEMM not built (${fallback}; set NODE_INCLUDE_DIR)`);
    return;
  }
  const cc = [env.CC, "cc", "gcc", "clang"].filter(Boolean).find((c) => spawnSync(c, ["--version"], { encoding: "utf8" }).status === 0);
  if (!cc) {
    say(`no C compiler (cc, gcc, clang or $CC): native CPU GEMM not built (${fallback})`);
    return;
  }
  const out = join(pkg, "build");
  mkdirSync(out, { recursive: true });
  const tmp = join(out, "cpu_gemm.node.tmp");
  const args = ["-O3", "-std=c11", "-fPIC", "-shared", "-pthread", `-I${inc}`, join(pkg, "native", "cpu_gemm.c"), "-o", tmp];
  const r = spawnSync(cc, args, { encoding: "utf8" });
  if (r.status !== 0) {
    const log = join(out, "cpu_gemm.build.log");
    writeFileSync(log, `${cc} ${args.join(" ")}\n${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? r.error.message : ""}`);
    rmSync(tmp, { force: true });
    say(`native CPU GEMM build failed (${fallback}); the compiler's output is in ${log}`);
    return;
  }
  renameSync(tmp, join(out, "cpu_gemm.node"));
  say(`native CPU GEMM built with ${cc}: ${join(out, "cpu_gemm.node")}`);
}

try {
  main(process.env);
} catch (e) {
  say(`native CPU GEMM not built (${e instanceof Error ? e.message : String(e)}; ${fallback})`);
}
