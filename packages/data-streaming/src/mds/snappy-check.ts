/**
 * Walks a raw snappy block without producing output, so a damaged or hostile stream is refused
 * before snappyjs sees it: snappyjs trusts 4-byte literal lengths (a negative one moves its read
 * position backwards forever) and allocates whatever the length preamble claims.
 * Returns the uncompressed length, checked to equal what the elements produce.
 */
export function checkSnappyBlock(b: Uint8Array, maxBytes: number): number {
  let pos = 0;
  let declared = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= b.length || shift > 28) throw new Error("bad snappy length preamble");
    const c = b[pos++]!;
    declared += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) break;
  }
  if (declared > maxBytes) throw new Error(`snappy stream claims ${declared} bytes, more than the ${maxBytes} expected`);
  let out = 0;
  while (pos < b.length) {
    const c = b[pos++]!;
    const kind = c & 3;
    let len: number;
    if (kind === 0) {
      len = (c >>> 2) + 1;
      if (len > 60) {
        const n = len - 60;
        if (pos + n > b.length) throw new Error(`snappy literal length runs past the end at byte ${pos}`);
        len = 1;
        for (let i = 0; i < n; i++) len += b[pos + i]! * 2 ** (8 * i);
        pos += n;
      }
      if (pos + len > b.length) throw new Error(`snappy literal of ${len} bytes runs past the end at byte ${pos}`);
      pos += len;
    } else {
      const extra = kind === 1 ? 1 : kind === 2 ? 2 : 4;
      if (pos + extra > b.length) throw new Error(`snappy copy truncated at byte ${pos}`);
      let offset = 0;
      for (let i = 0; i < extra; i++) offset += b[pos + i]! * 2 ** (8 * i);
      if (kind === 1) {
        len = ((c >>> 2) & 7) + 4;
        offset += (c >>> 5) << 8;
      } else len = (c >>> 2) + 1;
      pos += extra;
      if (offset === 0 || offset > out) throw new Error(`snappy copy offset ${offset} is outside the ${out} bytes produced so far`);
    }
    out += len;
    if (out > declared) throw new Error(`snappy stream produces more than the ${declared} bytes it declares`);
  }
  if (out !== declared) throw new Error(`snappy stream produces ${out} bytes but declares ${declared}`);
  return declared;
}
