// The attention argument pack (a Float64Array from src/backend.ts): slot numbers by name. Its TypeScript
// twin is src/attn-pack.ts; src/packs.test.ts checks that the two agree slot by slot.
#pragma once

enum AttnSlot {
  ATTN_DT = 0,            // dtype code of qkv
  ATTN_QKV = 1,           // qkv [T, 3H]
  ATTN_OUT = 2,           // out [T, H]
  ATTN_LSE = 3,           // log-sum-exp [T, nh] (float)
  ATTN_CU_SEQLENS = 4,    // cumulative sequence lengths [B + 1] (int32)
  ATTN_POSITIONS = 5,     // positions [T] (int32) or 0
  ATTN_DT_MASK = 6,       // dtype code of the key mask
  ATTN_KEY_MASK = 7,      // key mask [T] or 0
  ATTN_SLOPES = 8,        // ALiBi slopes [nh] (float)
  ATTN_BATCH = 9,         // sequences B
  ATTN_TOKENS = 10,       // tokens T
  ATTN_HEADS = 11,        // heads nh
  ATTN_HEAD_DIM = 12,     // head dim dh
  ATTN_MAX_SEQLEN = 13,   // longest sequence
  ATTN_SCALE = 14,        // softmax scale
  ATTN_DROP_P = 15,       // dropout probability
  ATTN_DROP_KEY = 16,     // dropout seed key
  ATTN_DROP_OFFSET = 17,  // dropout counter offset
  ATTN_DT_OUT = 18,       // dtype code of out
  ATTN_DT_DOUT = 19,      // dtype code of dout (backward)
  ATTN_SLOTS = 20,
};
