// scripts/install.mjs and native/build.sh as an npm install runs them: from a copy of the package laid out
// like the published tarball (no src/), with stand-in nvcc/nvidia-smi programs that record their arguments.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgSrc = path.resolve(here, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kc-install-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A tarball-like copy of the package and a bin folder with a fake nvcc (and nvidia-smi when `gpus` is given). */
function setup(o: { gpus?: string[]; nvccFails?: boolean; missingHeader?: string } = {}): { pkg: string; bin: string; log: string } {
  const root = path.join(tmp, String(n++));
  const pkg = path.join(root, "node_modules", "@mosaicbert", "kernels-cuda");
  fs.mkdirSync(path.join(pkg, "scripts"), { recursive: true });
  fs.copyFileSync(path.join(pkgSrc, "package.json"), path.join(pkg, "package.json"));
  fs.copyFileSync(path.join(pkgSrc, "scripts", "install.mjs"), path.join(pkg, "scripts", "install.mjs"));
  fs.cpSync(path.join(pkgSrc, "native"), path.join(pkg, "native"), { recursive: true });
  const bin = path.join(root, "bin");
  const log = path.join(root, "nvcc.log");
  fs.mkdirSync(bin);
  // The fake nvcc knows sm_80..sm_90 (like a CUDA 12 nvcc), logs each call and writes its -o file.
  const nvcc = [
    "#!/bin/bash",
    'if [ "$1" = "--list-gpu-code" ]; then printf "sm_75\\nsm_80\\nsm_86\\nsm_87\\nsm_89\\nsm_90\\n"; exit 0; fi',
    `echo "$*" >> ${JSON.stringify(log)}`,
    o.nvccFails ? 'echo "fatal error: cublasLt.h: No such file or directory" >&2; exit 2' : "",
    // build.sh's header check preprocesses a one-line has-header.cu per library header.
    o.missingHeader
      ? `for a in "$@"; do case "$a" in *has-header.cu) if grep -q '${o.missingHeader}' "$a"; then echo "fatal error: ${o.missingHeader}: No such file or directory" >&2; exit 2; fi;; esac; done`
      : "",
    'while [ $# -gt 0 ]; do if [ "$1" = "-o" ]; then echo obj > "$2"; fi; shift; done',
  ].join("\n");
  fs.writeFileSync(path.join(bin, "nvcc"), nvcc, { mode: 0o755 });
  if (o.gpus) fs.writeFileSync(path.join(bin, "nvidia-smi"), `#!/bin/bash\nprintf '${o.gpus.join("\\n")}\\n'\n`, { mode: 0o755 });
  return { pkg, bin, log };
}

function install(pkg: string, env: Record<string, string>): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [path.join(pkg, "scripts", "install.mjs")], {
    env: { PATH: "/usr/bin:/bin", ...env },
    encoding: "utf8",
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

const addon = (pkg: string) => path.join(pkg, "build", "mosaicbert_cuda.node");
const compileCalls = (log: string) => fs.readFileSync(log, "utf8").trim().split("\n").filter((l) => l.includes(" -c "));

describe("kernels-cuda install script", () => {
  it("builds for the local GPU's compute capability when one is visible", () => {
    const { pkg, bin, log } = setup({ gpus: ["8.6", "8.6"] });
    const r = install(pkg, { NVCC: path.join(bin, "nvcc"), PATH: `${bin}:/usr/bin:/bin` });
    expect(r.status, r.err).toBe(0);
    expect(fs.existsSync(addon(pkg))).toBe(true);
    const calls = compileCalls(log);
    expect(calls.length).toBe(fs.readdirSync(path.join(pkg, "native")).filter((f) => /\.(cu|cc)$/.test(f)).length);
    for (const c of calls) {
      expect(c).toContain("-gencode=arch=compute_86,code=sm_86");
      expect(c).not.toContain("sm_90a");
    }
    expect(r.out).toContain("local GPU (compute capability 8.6");
  });

  it("gives Hopper sm_90a machine code", () => {
    const { pkg, bin, log } = setup({ gpus: ["9.0"] });
    expect(install(pkg, { NVCC: path.join(bin, "nvcc"), PATH: `${bin}:/usr/bin:/bin` }).status).toBe(0);
    for (const c of compileCalls(log)) expect(c.match(/-gencode=\S+/g)).toEqual(["-gencode=arch=compute_90a,code=sm_90a"]);
  });

  it("builds the default architecture list without a visible GPU, and MB_CUDA_ARCH overrides it", () => {
    const { pkg, bin, log } = setup();
    expect(install(pkg, { NVCC: path.join(bin, "nvcc"), PATH: `${bin}:/usr/bin:/bin` }).status).toBe(0);
    const flags = compileCalls(log)[0]!.match(/-gencode=\S+/g);
    expect(flags).toEqual([
      "-gencode=arch=compute_80,code=sm_80", "-gencode=arch=compute_86,code=sm_86", "-gencode=arch=compute_89,code=sm_89",
      "-gencode=arch=compute_90a,code=sm_90a", "-gencode=arch=compute_80,code=compute_80",
    ]);
    fs.rmSync(log);
    const arch = "-gencode=arch=compute_89,code=sm_89";
    expect(install(pkg, { NVCC: path.join(bin, "nvcc"), PATH: `${bin}:/usr/bin:/bin`, MB_CUDA_ARCH: arch }).status).toBe(0);
    for (const c of compileCalls(log)) expect(c.match(/-gencode=\S+/g)).toEqual([arch]);
  });

  it("prints one line and succeeds without nvcc or with MOSAICBERT_SKIP_CUDA_BUILD=1", () => {
    const { pkg, bin, log } = setup({ gpus: ["9.0"] });
    const none = install(pkg, { NVCC: path.join(bin, "no-such-nvcc") });
    expect(none.status).toBe(0);
    expect(none.out.trim().split("\n")).toHaveLength(1);
    expect(none.out).toContain("npm rebuild @mosaicbert/kernels-cuda");
    const skip = install(pkg, { MOSAICBERT_SKIP_CUDA_BUILD: "1", NVCC: path.join(bin, "nvcc"), PATH: `${bin}:/usr/bin:/bin` });
    expect(skip.status).toBe(0);
    expect(skip.out.trim().split("\n")).toHaveLength(1);
    expect(skip.out).toContain("MOSAICBERT_SKIP_CUDA_BUILD=1");
    expect(fs.existsSync(log)).toBe(false);
    expect(fs.existsSync(addon(pkg))).toBe(false);
  });

  it("keeps the log of a failed build and still succeeds unless MOSAICBERT_CUDA_BUILD_STRICT=1", () => {
    const { pkg, bin } = setup({ nvccFails: true });
    const env = { NVCC: path.join(bin, "nvcc"), PATH: `${bin}:/usr/bin:/bin` };
    const r = install(pkg, env);
    expect(r.status).toBe(0);
    expect(r.err).toContain("cublasLt.h: No such file or directory");
    expect(r.err).toContain("npm rebuild @mosaicbert/kernels-cuda");
    expect(fs.readFileSync(path.join(pkg, "build", "build.log"), "utf8")).toContain("cublasLt.h not found");
    expect(fs.existsSync(addon(pkg))).toBe(false);
    expect(install(pkg, { ...env, MOSAICBERT_CUDA_BUILD_STRICT: "1" }).status).toBe(1);
  });

  it("checks the cuBLAS and NCCL headers before compiling anything: a missing one is named and nothing is compiled", () => {
    for (const header of ["cublasLt.h", "nccl.h"]) {
      const { pkg, bin, log } = setup({ missingHeader: header });
      const r = install(pkg, { NVCC: path.join(bin, "nvcc"), PATH: `${bin}:/usr/bin:/bin` });
      expect(r.status, header).toBe(0);
      expect(r.err).toContain(`${header} not found by`);
      expect(r.err).toContain("nothing was compiled");
      expect(r.err).toContain(header === "nccl.h" ? "NCCL_INCLUDE_DIR" : "libcublas-dev");
      expect(compileCalls(log), header).toEqual([]);
      expect(fs.existsSync(path.join(pkg, "build", "obj")), header).toBe(false);
      expect(fs.existsSync(addon(pkg))).toBe(false);
    }
  });

  it("leaves no object files behind when compilation fails", () => {
    const { pkg, bin } = setup();
    // The header checks pass; every compile then fails.
    fs.writeFileSync(path.join(bin, "nvcc"), fs.readFileSync(path.join(bin, "nvcc"), "utf8").replace('while [ $# -gt 0 ]', 'if [[ " $* " == *" -c "* ]]; then echo "error: boom" >&2; exit 2; fi\nwhile [ $# -gt 0 ]'));
    const r = install(pkg, { NVCC: path.join(bin, "nvcc"), PATH: `${bin}:/usr/bin:/bin` });
    expect(r.status).toBe(0);
    expect(r.err).toContain("compilation failed");
    expect(fs.existsSync(path.join(pkg, "build", "obj"))).toBe(false);
  });
});
