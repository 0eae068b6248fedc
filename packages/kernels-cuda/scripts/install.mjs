#!/usr/bin/env node
// The package's `install` script (also what `npm rebuild @mosaicbert/kernels-cuda` runs): builds the CUDA addon
// with native/build.sh when nvcc is present; otherwise prints one line and succeeds, because the addon is
// optional (every package works on the CPU backend without it). A failed build does not fail the install
// either: its output is kept in build/build.log, which the load error points at.
//   MOSAICBERT_SKIP_CUDA_BUILD=1   do not build
//   MOSAICBERT_CUDA_BUILD_STRICT=1 a failed build fails the install (for CI on GPU machines)
//   NVCC, CUDA_HOME, MB_CUDA_ARCH, NODE_INCLUDE_DIR, NCCL_INCLUDE_DIR, NCCL_LIB_DIR   see native/build.sh
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const name = "@mosaicbert/kernels-cuda";
const say = (s) => console.log(`${name}: ${s}`);
const cpuNote = "the CPU backend works without it";

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** nvcc from $NVCC, else PATH, $CUDA_HOME/bin, $CUDA_PATH/bin, /usr/local/cuda/bin. */
function findNvcc(env) {
  if (env.NVCC) return executable(env.NVCC) ? env.NVCC : null;
  const dirs = [...(env.PATH ?? "").split(delimiter), env.CUDA_HOME && join(env.CUDA_HOME, "bin"), env.CUDA_PATH && join(env.CUDA_PATH, "bin"), "/usr/local/cuda/bin"];
  for (const d of dirs) if (d && executable(join(d, "nvcc"))) return join(d, "nvcc");
  return null;
}

function main(env) {
  if (env.MOSAICBERT_SKIP_CUDA_BUILD === "1") {
    say(`MOSAICBERT_SKIP_CUDA_BUILD=1: CUDA addon not built (${cpuNote}; build it later with \`npm rebuild ${name}\`)`);
    return 0;
  }
  if (existsSync(join(pkg, "src", "index.ts"))) {
    say(`workspace checkout: build the CUDA addon with \`pnpm --filter ${name} build:native\``);
    return 0;
  }
  const nvcc = findNvcc(env);
  if (!nvcc) {
    say(`${env.NVCC ? `NVCC=${env.NVCC} is not executable` : "nvcc not found"}: CUDA addon not built (${cpuNote}; with the CUDA toolkit installed run \`npm rebuild ${name}\`)`);
    return 0;
  }
  const build = join(pkg, "build");
  mkdirSync(build, { recursive: true });
  const log = join(build, "build.log");
  rmSync(log, { force: true });
  say(`building the CUDA addon with ${nvcc} (a few minutes; MOSAICBERT_SKIP_CUDA_BUILD=1 skips it)`);
  const r = spawnSync("bash", [join(pkg, "native", "build.sh")], {
    env: { ...env, NVCC: nvcc, PATH: `${dirname(process.execPath)}${delimiter}${env.PATH ?? ""}` },
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  const output = `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? `${r.error.message}\n` : ""}`;
  if (r.status === 0 && existsSync(join(build, "mosaicbert_cuda.node"))) {
    process.stdout.write(output);
    return 0;
  }
  writeFileSync(log, output);
  const tail = output.trim().split("\n").slice(-15).join("\n");
  console.error(`${tail}\n${name}: the CUDA addon build failed (full log: ${log}); ${cpuNote}. Fix the cause and run \`npm rebuild ${name}\`.`);
  return env.MOSAICBERT_CUDA_BUILD_STRICT === "1" ? 1 : 0;
}

process.exitCode = main(process.env);
