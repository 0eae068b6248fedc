/**
 * An open-addressing hash table over the vocabulary that looks up a span of a string without slicing it:
 * the tokenizer hashes candidate word pieces incrementally (FNV-1a over UTF-16 code units) as it extends them,
 * then compares the span against the stored token in place. This avoids allocating a string and having V8
 * hash it for every candidate, the main cost of a Map-based WordPiece.
 */
export const FNV_BASIS = 0x811c9dc5 | 0;

export function fnvStep(h: number, c: number): number {
  return Math.imul(h ^ c, 0x01000193);
}

/** Hash state after the `##` continuation prefix. */
export const FNV_CONTINUATION = fnvStep(fnvStep(FNV_BASIS, 0x23), 0x23);

export class VocabTable {
  private readonly slotId: Int32Array; // id + 1, 0 = empty
  private readonly slotHash: Int32Array;
  private readonly mask: number;
  private readonly tokens: readonly string[];

  constructor(tokens: readonly string[], ids: ReadonlyMap<string, number>) {
    let cap = 1;
    while (cap < ids.size * 2) cap <<= 1;
    this.mask = cap - 1;
    this.slotId = new Int32Array(cap);
    this.slotHash = new Int32Array(cap);
    this.tokens = tokens;
    for (const [tok, id] of ids) {
      let h = FNV_BASIS;
      for (let k = 0; k < tok.length; k++) h = fnvStep(h, tok.charCodeAt(k));
      let i = h & this.mask;
      while (this.slotId[i] !== 0) i = (i + 1) & this.mask;
      this.slotId[i] = id + 1;
      this.slotHash[i] = h;
    }
  }

  /**
   * Id of the token equal to s[start, end) (prefixed by `##` when `continuation`), whose hash is `h`; −1 if none.
   */
  find(h: number, s: string, start: number, end: number, continuation: boolean): number {
    const off = continuation ? 2 : 0;
    const len = end - start + off;
    let i = h & this.mask;
    for (;;) {
      const id1 = this.slotId[i]!;
      if (id1 === 0) return -1;
      if (this.slotHash[i] === h) {
        const tok = this.tokens[id1 - 1]!;
        if (tok.length === len && (off === 0 || (tok.charCodeAt(0) === 0x23 && tok.charCodeAt(1) === 0x23))) {
          let k = 0;
          while (k < end - start && tok.charCodeAt(off + k) === s.charCodeAt(start + k)) k++;
          if (k === end - start) return id1 - 1;
        }
      }
      i = (i + 1) & this.mask;
    }
  }
}
