/**
 * The Frame_Content_Size of a zstd frame header (RFC 8878 §3.1.1.1), or null when the frame does not
 * record it. zstd-wasm allocates its output from this field before decoding, so a lying value must be
 * refused first.
 */
export function zstdFrameContentSize(b: Uint8Array): number | null {
  if (b.length < 6 || b[0] !== 0x28 || b[1] !== 0xb5 || b[2] !== 0x2f || b[3] !== 0xfd) throw new Error("not a zstd frame (bad magic number)");
  const fhd = b[4]!;
  const fcsFlag = fhd >>> 6;
  const single = (fhd >>> 5) & 1;
  const dictBytes = [0, 1, 2, 4][fhd & 3]!;
  const fcsBytes = fcsFlag === 0 ? single : [1, 2, 4, 8][fcsFlag]!;
  if (fcsBytes === 0) return null;
  const at = 5 + (single ? 0 : 1) + dictBytes;
  if (at + fcsBytes > b.length) throw new Error("zstd frame header is truncated");
  let v = 0;
  for (let i = 0; i < fcsBytes; i++) v += b[at + i]! * 2 ** (8 * i);
  return fcsBytes === 2 ? v + 256 : v;
}
