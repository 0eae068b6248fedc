// Tile shapes of the flash attention kernels (attention_flash.cu), the shared memory a CTA of them
// needs, and how many warps per CTA a given GPU can hold. Host and device code both read this; it
// needs nothing from CUDA, so a plain C++ compiler can test it (src/flash-tiles.test.cc).
//
// Blocks may opt in to 227 KB of shared memory on H100/H200, 163 KB on A100/A30 (sm_80, sm_87), but
// only 99 KB on the GeForce/RTX and workstation parts of Ampere, Ada and Blackwell (sm_86, sm_89,
// sm_120). Eight warps at head dim 128 need more than 99 KB, so those GPUs run four (same results:
// the tile shape changes the work split, not the arithmetic of a row).
#pragma once
#include <cstddef>

template <int DH, int NW> struct FwdTile {
  static constexpr int NT = NW * 32, BM = 16 * NW, BN = 64, LD = DH + 8;
  static constexpr size_t smem = (size_t)(BM + 4 * BN) * LD * 2 + 2 * BN * 8;
};

template <int DH, int NW, int BMQ = (DH == 128 ? 32 : 64)> struct BwdTile {
  static constexpr int NT = NW * 32, BN = 16 * NW;  // keys per CTA
  static constexpr int BM = BMQ;                    // queries per step (registers bound it at DH 128)
  static constexpr int LD = DH + 8, LDS = BM + 8;
  static constexpr size_t smem = (size_t)(2 * BN + 4 * BM) * LD * 2 + (size_t)BN * LDS * 2 + 2 * BM * 12;
};

template <int NW> inline size_t flash_smem_nw(int dh, bool bwd) {
  switch (dh) {
    case 32: return bwd ? BwdTile<32, NW>::smem : FwdTile<32, NW>::smem;
    case 64: return bwd ? BwdTile<64, NW>::smem : FwdTile<64, NW>::smem;
    case 128: return bwd ? BwdTile<128, NW>::smem : FwdTile<128, NW>::smem;
    default: return (size_t)-1;
  }
}

// Dynamic shared memory of one forward or backward CTA of nw (4 or 8) warps at head dim dh (32, 64 or
// 128); SIZE_MAX for a shape the kernels do not have.
inline size_t flash_smem(int dh, int nw, bool bwd) {
  if (nw == 8) return flash_smem_nw<8>(dh, bwd);
  if (nw == 4) return flash_smem_nw<4>(dh, bwd);
  return (size_t)-1;
}

// Warps per CTA for the forward (bwd false) or backward at head dim dh on a GPU whose blocks may opt
// in to `optin` bytes of shared memory: `want` (8 or 4) when its tiles fit, else 4, else 0 (the flash
// kernels cannot run there; the caller takes the generic path).
inline int flash_warps(int dh, bool bwd, size_t optin, int want) {
  for (int nw = want == 4 ? 4 : 8; nw >= 4; nw -= 4)
    if (flash_smem(dh, nw, bwd) <= optin) return nw;
  return 0;
}

// MOSAICBERT_FA_WARPS="fwd,bwd" (4 or 8 each; a tuning knob of the benchmarks): the warps asked for,
// 8 when unset or not understood.
inline void flash_warps_asked(const char* e, int& fwd, int& bwd) {
  fwd = 8;
  bwd = 8;
  if (e && (e[0] == '4' || e[0] == '8')) fwd = e[0] - '0';
  if (e && e[0] && e[1] == ',' && (e[2] == '4' || e[2] == '8')) bwd = e[2] - '0';
}

// Queries per step of the backward at head dim 64 on 8 warps: 32 with the registers capped at 128 a thread so that two
// CTAs share an SM (one CTA's loads and barriers overlap the other's tensor-core work), or 64, one CTA per SM
// (≈ 230 registers). 32 where two such CTAs fit the SM's shared memory `smPerSM` (each block also takes 1 KB of it:
// H100, H200, A100), 64 otherwise (the 100 KB of sm_86/89/120). H100 (BENCHMARKS.md, session 15): the anchor's
// one-key-tile backward 5.91 → 5.19 ms a step; `device.sh attention` 3–8% faster at 256 to 8192 tokens.
// MOSAICBERT_FA_BWD_BM = `asked`, "32" or "64", sets it; anything else is the choice above.
inline int flash_bwd_bm(const char* asked, size_t smPerSM) {
  if (asked && asked[0] == '3' && asked[1] == '2' && asked[2] == 0) return 32;
  if (asked && asked[0] == '6' && asked[1] == '4' && asked[2] == 0) return 64;
  return 2 * (BwdTile<64, 8, 32>::smem + 1024) <= smPerSM ? 32 : 64;
}
