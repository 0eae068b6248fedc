// Which flash-attention tiles each GPU generation can hold (flash_tiles.h), on a plain C++ compiler:
// compiled and run by flash-tiles.test.ts (in CI). Exits 1 naming each failure.
#include "../native/flash_tiles.h"
#include <cstdio>
#include <initializer_list>

static int failures = 0;

static void expect(const char* what, long long got, long long want) {
  if (got == want) return;
  std::printf("FAIL %s: got %lld, expected %lld\n", what, got, want);
  failures++;
}

int main() {
  // Opt-in shared memory per block (cudaDevAttrMaxSharedMemoryPerBlockOptin) of each class of GPU.
  const size_t H100 = 232448, A100 = 166912, RTX = 101376;
  // The tiles' own sizes: forward (BM + 4·BN)·(DH + 8)·2 + 16·BN, backward as in BwdTile.
  expect("forward smem, dh 64, 8 warps", (long long)flash_smem(64, 8, false), (128 + 256) * 72 * 2 + 1024);
  expect("forward smem, dh 128, 8 warps", (long long)flash_smem(128, 8, false), (128 + 256) * 136 * 2 + 1024);
  expect("backward smem, dh 64, 8 warps", (long long)flash_smem(64, 8, true), (256 + 256) * 72 * 2 + 128 * 72 * 2 + 128 * 12);
  expect("backward smem, dh 128, 8 warps", (long long)flash_smem(128, 8, true), (256 + 128) * 136 * 2 + 128 * 40 * 2 + 64 * 12);
  expect("no tiles for head dim 96", (long long)(flash_smem(96, 8, false) == (size_t)-1), 1);
  expect("no tiles for 6 warps", (long long)(flash_smem(64, 6, true) == (size_t)-1), 1);
  for (int dh : {32, 64, 128})
    for (int bwd = 0; bwd < 2; bwd++) {
      char what[96];
      std::snprintf(what, sizeof what, "H100 and A100 hold 8 warps (dh %d, %s)", dh, bwd ? "backward" : "forward");
      expect(what, flash_warps(dh, bwd, H100, 8), 8);
      expect(what, flash_warps(dh, bwd, A100, 8), 8);
      std::snprintf(what, sizeof what, "4 warps asked are 4 warps (dh %d, %s)", dh, bwd ? "backward" : "forward");
      expect(what, flash_warps(dh, bwd, H100, 4), 4);
      // Every shape fits the 99 KB parts with 4 warps; at head dim 128 only with 4.
      std::snprintf(what, sizeof what, "99 KB parts (dh %d, %s)", dh, bwd ? "backward" : "forward");
      expect(what, flash_warps(dh, bwd, RTX, 8), dh == 128 ? 4 : 8);
    }
  expect("forward at dh 128 does not fit 99 KB with 8 warps", (long long)(flash_smem(128, 8, false) > RTX), 1);
  // Below what 4 warps need: no flash kernel (the generic path runs).
  expect("backward dh 64 in 48 KB", flash_warps(64, true, 49152, 8), 0);
  expect("forward dh 64 in 48 KB", flash_warps(64, false, 49152, 8), 4);
  expect("head dim 96 never", flash_warps(96, false, H100, 8), 0);
  int f = 0, b = 0;
  flash_warps_asked(nullptr, f, b);
  expect("unset knob: forward", f, 8);
  expect("unset knob: backward", b, 8);
  flash_warps_asked("4,8", f, b);
  expect("\"4,8\": forward", f, 4);
  expect("\"4,8\": backward", b, 8);
  flash_warps_asked("8,4", f, b);
  expect("\"8,4\": forward", f, 8);
  expect("\"8,4\": backward", b, 4);
  flash_warps_asked("16", f, b);
  expect("\"16\" is not understood: forward", f, 8);
  expect("\"16\" is not understood: backward", b, 8);
  // The backward's tile of 32 queries a step: two CTAs of it fit an SM's shared memory (228 KB on H100, 164 KB on
  // A100, with 1 KB of each block's reserved), not the 100 KB of sm_86/89/120, where one CTA of 64 takes half of it.
  const long long bm32 = (256 + 128) * 72 * 2 + 128 * 40 * 2 + 32 * 24;
  expect("backward smem, dh 64, 8 warps, 32 queries a step", (long long)BwdTile<64, 8, 32>::smem, bm32);
  const size_t h100 = 233472, a100 = 167936, rtx = 102400;
  expect("an H100: 32 queries a step", flash_bwd_bm(nullptr, h100), 32);
  expect("an A100: 32", flash_bwd_bm(nullptr, a100), 32);
  expect("sm_86 (two CTAs do not fit): 64", flash_bwd_bm(nullptr, rtx), 64);
  expect("two CTAs need 2 × (smem + 1 KB)", flash_bwd_bm(nullptr, (size_t)(2 * (bm32 + 1024))), 32);
  expect("one byte short of that: 64", flash_bwd_bm(nullptr, (size_t)(2 * (bm32 + 1024) - 1)), 64);
  expect("MOSAICBERT_FA_BWD_BM=64 on an H100", flash_bwd_bm("64", h100), 64);
  expect("MOSAICBERT_FA_BWD_BM=32 where two CTAs do not fit (one runs)", flash_bwd_bm("32", rtx), 32);
  expect("MOSAICBERT_FA_BWD_BM=16 is not a tile here", flash_bwd_bm("16", h100), 32);
  expect("MOSAICBERT_FA_BWD_BM=640 is not 64", flash_bwd_bm("640", h100), 32);
  expect("MOSAICBERT_FA_BWD_BM=3 is not 32", flash_bwd_bm("3", rtx), 64);
  if (failures) return 1;
  std::printf("flash_tiles: all checks passed\n");
  return 0;
}
