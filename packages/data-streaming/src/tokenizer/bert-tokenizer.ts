import { isPunctuation, isWhitespace } from "./chars.js";
import { bertNormalize, UNCASED_NORMALIZER, type NormalizerOptions } from "./normalize.js";
import { longestFirstLengths } from "./truncate.js";
import { FNV_BASIS, FNV_CONTINUATION, VocabTable, fnvStep } from "./vocab-table.js";
import { REQUIRED_SPECIAL_TOKENS, loadVocab, vocabFromTokens, type Vocab } from "./vocab.js";

/** Options of `encode`, mirroring Hugging Face's `__call__` arguments. */
export interface EncodeOptions {
  /** Truncate (and, with `padding`, pad) to this many tokens, special tokens included. */
  maxLength?: number;
  /** Truncate to `maxLength` (longest-first for pairs). Default: true when `maxLength` is given. */
  truncation?: boolean;
  /** Pad with [PAD] to `maxLength` (HF `padding="max_length"`). Default false. */
  padding?: boolean;
  /** Add [CLS] … [SEP] (… [SEP]). Default true. */
  addSpecialTokens?: boolean;
}

/** One encoded sequence or pair, as plain arrays (HF `input_ids`, `token_type_ids`, `attention_mask`). */
export interface Encoding {
  inputIds: number[];
  tokenTypeIds: number[];
  attentionMask: number[];
}

/** Longest word, in characters, that WordPiece splits; longer words become one [UNK] (HF default). */
const MAX_INPUT_CHARS_PER_WORD = 100;
/** Truncated long texts are normalized in pieces of about this many characters (≈100 word pieces of prose). */
const CHUNK_CHARS = 512;

// Pre-tokenizer classes of ASCII code units: 0 part of a word, 1 whitespace (split, dropped), 2 punctuation
// (split, kept as its own word).
const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) ASCII_CLASS[c] = isWhitespace(c) ? 1 : isPunctuation(c) ? 2 : 0;

function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff || i + 1 === s.length) n++;
    else {
      const d = s.charCodeAt(i + 1);
      n++;
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  return n;
}

/**
 * A BERT WordPiece tokenizer, equal to Hugging Face's BertTokenizerFast: BertNormalizer (clean, CJK split,
 * strip accents, lowercase — bert-base-uncased's settings unless the tokenizer.json or the caller says otherwise:
 * `normalizer`), BertPreTokenizer (split on whitespace and punctuation),
 * WordPiece (greedy longest match, `##` continuations, [UNK] for words over 100 characters), the
 * [CLS] A [SEP] (B [SEP]) template, longest-first truncation and max-length padding. Special tokens written
 * literally in the text ("[MASK]") map to their ids, as HF's added tokens do.
 */
export class BertTokenizer {
  readonly vocab: Vocab;
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number;
  /** Ids never chosen for MLM masking: [PAD], [UNK], [CLS], [SEP], [MASK]. */
  readonly specialIds: readonly number[];
  private readonly ids: ReadonlyMap<string, number>;
  private readonly maxTokenUnits: number;
  private readonly specials: ReadonlyArray<readonly [string, number]>;
  private readonly table: VocabTable;
  /** Scratch space of appendWord: pieces of the current word, hashes of its growing candidates. */
  private readonly pieces: number[] = [];
  private readonly hashes: Int32Array;

  /** How text is normalized: `options.normalizer`, else the tokenizer.json's, else bert-base-uncased's. */
  readonly normalizer: NormalizerOptions;

  constructor(vocab: Vocab, options: { normalizer?: NormalizerOptions } = {}) {
    this.vocab = vocab;
    this.normalizer = options.normalizer ?? vocab.normalizer ?? UNCASED_NORMALIZER;
    this.ids = vocab.ids;
    const id = (t: string): number => vocab.ids.get(t)!;
    this.padId = id("[PAD]");
    this.unkId = id("[UNK]");
    this.clsId = id("[CLS]");
    this.sepId = id("[SEP]");
    this.maskId = id("[MASK]");
    this.specials = REQUIRED_SPECIAL_TOKENS.map((t) => [t, id(t)] as const);
    this.specialIds = this.specials.map(([, i]) => i);
    let longest = 1;
    for (const t of vocab.tokens) if (t.length > longest) longest = t.length;
    this.maxTokenUnits = longest;
    this.table = new VocabTable(vocab.tokens, vocab.ids);
    this.hashes = new Int32Array(longest);
  }

  /** Loads `vocab.txt` or a WordPiece `tokenizer.json` (whose normalizer it then follows). */
  static fromFile(path: string, options: { normalizer?: NormalizerOptions } = {}): BertTokenizer {
    return new BertTokenizer(loadVocab(path), options);
  }

  /** Builds a tokenizer from tokens in id order. */
  static fromTokens(tokens: readonly string[], source?: string): BertTokenizer {
    return new BertTokenizer(vocabFromTokens(tokens, source));
  }

  /** Number of ids (`len(tokenizer)`): 30522 for bert-base-uncased. */
  get vocabSize(): number {
    return this.vocab.tokens.length;
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.vocab.tokens[id];
  }

  /** The normalized text (HF `backend_tokenizer.normalizer.normalize_str`). */
  normalize(text: string): string {
    return bertNormalize(text, this.normalizer);
  }

  /** Word pieces of `text`, without special tokens added (HF `tokenize`). */
  tokenize(text: string): string[] {
    return this.textToIds(text).map((i) => this.vocab.tokens[i]!);
  }

  /** Ids of `text` without special tokens, stopping after `limit` ids (the rest would be truncated anyway). */
  textToIds(text: string, limit = Infinity): number[] {
    const out: number[] = [];
    if (limit <= 0) return out;
    if (limit === Infinity || text.length <= CHUNK_CHARS) {
      this.appendText(text, out, limit);
      return out;
    }
    // Truncating a long document: normalize and split it piece by piece, stopping once `limit` ids are out,
    // instead of normalizing all of it. Cuts fall on a space or newline, where the pre-tokenizer splits anyway
    // (and where no special token, NFD sequence or character can be cut), so the ids are unchanged.
    let pos = 0;
    while (pos < text.length && out.length < limit) {
      let end = pos + CHUNK_CHARS;
      if (end >= text.length) end = text.length;
      else {
        const sp = text.indexOf(" ", end);
        const nl = text.indexOf("\n", end);
        end = sp < 0 ? (nl < 0 ? text.length : nl) : nl < 0 ? sp : Math.min(sp, nl);
      }
      this.appendText(text.slice(pos, end), out, limit);
      pos = end;
    }
    return out;
  }

  private appendText(text: string, out: number[], limit: number): void {
    if (text.includes("[")) this.splitSpecials(text, out, limit);
    else this.appendNormalized(bertNormalize(text, this.normalizer), out, limit);
  }

  /** Encodes a sequence or a pair: [CLS] a [SEP] (b [SEP]), token types 0 then 1, optional truncation/padding. */
  encode(a: string, b?: string, options: EncodeOptions = {}): Encoding {
    const { maxLength, padding = false, addSpecialTokens = true } = options;
    const truncation = options.truncation ?? maxLength !== undefined;
    if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 0)) {
      throw new RangeError(`encode: maxLength must be a non-negative integer, got ${maxLength}`);
    }
    if ((truncation || padding) && maxLength === undefined) {
      throw new RangeError("encode: truncation and padding need maxLength");
    }
    const added = addSpecialTokens ? (b === undefined ? 2 : 3) : 0;
    let budget = Infinity;
    if (truncation) {
      budget = maxLength! - added;
      if (budget < 0) {
        throw new RangeError(`encode: maxLength ${maxLength} is shorter than the ${added} special tokens it must hold`);
      }
    }
    let idsA: number[];
    let idsB: number[] | undefined;
    if (b === undefined) {
      idsA = this.textToIds(a, budget);
    } else {
      // Pairs are tokenized whole: which side gets cut depends on the full lengths.
      idsA = this.textToIds(a);
      idsB = this.textToIds(b);
      if (truncation) {
        const [nA, nB] = longestFirstLengths(idsA.length, idsB.length, budget);
        idsA.length = nA;
        idsB.length = nB;
      }
    }
    const inputIds: number[] = [];
    const tokenTypeIds: number[] = [];
    if (addSpecialTokens) inputIds.push(this.clsId);
    for (const i of idsA) inputIds.push(i);
    if (addSpecialTokens) inputIds.push(this.sepId);
    for (let k = inputIds.length; k > 0; k--) tokenTypeIds.push(0);
    if (idsB !== undefined) {
      for (const i of idsB) inputIds.push(i);
      if (addSpecialTokens) inputIds.push(this.sepId);
      for (let k = inputIds.length - tokenTypeIds.length; k > 0; k--) tokenTypeIds.push(1);
    }
    const attentionMask = new Array<number>(inputIds.length).fill(1);
    if (padding) {
      for (let k = inputIds.length; k < maxLength!; k++) {
        inputIds.push(this.padId);
        tokenTypeIds.push(0);
        attentionMask.push(0);
      }
    }
    return { inputIds, tokenTypeIds, attentionMask };
  }

  /** Tokens of `ids` joined back into text, `##` pieces glued on; special tokens skipped unless asked. */
  decode(ids: ArrayLike<number>, skipSpecialTokens = true): string {
    let out = "";
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      if (skipSpecialTokens && this.specialIds.includes(id)) continue;
      const t = this.vocab.tokens[id] ?? "[UNK]";
      if (t.startsWith("##") && out.length > 0) out += t.slice(2);
      else out += (out.length > 0 ? " " : "") + t;
    }
    return out;
  }

  /** Special tokens in the raw text (HF added tokens, `normalized: false`) are matched before normalizing. */
  private splitSpecials(text: string, out: number[], limit: number): void {
    let p = 0;
    for (;;) {
      let at = -1;
      let hit: readonly [string, number] | undefined;
      for (const s of this.specials) {
        const k = text.indexOf(s[0], p);
        if (k >= 0 && (at < 0 || k < at || (k === at && s[0].length > hit![0].length))) {
          at = k;
          hit = s;
        }
      }
      if (at < 0) break;
      if (at > p) this.appendNormalized(bertNormalize(text.slice(p, at), this.normalizer), out, limit);
      if (out.length >= limit) return;
      out.push(hit![1]);
      p = at + hit![0].length;
    }
    if (p < text.length) this.appendNormalized(bertNormalize(text.slice(p), this.normalizer), out, limit);
  }

  /** Pre-tokenizes normalized text (split on whitespace, isolate punctuation) and appends word pieces. */
  private appendNormalized(s: string, out: number[], limit: number): void {
    const n = s.length;
    let start = -1;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      let cls: number;
      let width = 1;
      if (c < 128) {
        cls = ASCII_CLASS[c]!;
      } else {
        let cp = c;
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
          const d = s.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) {
            cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
            width = 2;
          }
        }
        cls = isPunctuation(cp) ? 2 : isWhitespace(cp) ? 1 : 0;
      }
      if (cls === 0) {
        if (start < 0) start = i;
      } else {
        if (start >= 0) {
          this.appendWord(s, start, i, out, limit);
          start = -1;
        }
        if (cls === 2) this.appendWord(s, i, i + width, out, limit);
        if (out.length >= limit) return;
      }
      i += width - 1;
    }
    if (start >= 0) this.appendWord(s, start, n, out, limit);
  }

  /**
   * WordPiece on the word s[a, b): greedy longest match first, `##` on non-initial pieces, the whole word one
   * [UNK] when some part matches nothing. Candidates are hashed as they grow and looked up in place.
   */
  private appendWord(s: string, a: number, b: number, out: number[], limit: number): void {
    if (out.length >= limit) return;
    const table = this.table;
    const n = b - a;
    if (n > MAX_INPUT_CHARS_PER_WORD && codePointLength(s.slice(a, b)) > MAX_INPUT_CHARS_PER_WORD) {
      out.push(this.unkId);
      return;
    }
    if (n <= this.maxTokenUnits) {
      // Most words are in the vocabulary whole.
      let h = FNV_BASIS;
      for (let k = a; k < b; k++) h = fnvStep(h, s.charCodeAt(k));
      const id = table.find(h, s, a, b, false);
      if (id >= 0) {
        out.push(id);
        return;
      }
    }
    const pieces = this.pieces;
    const hashes = this.hashes;
    pieces.length = 0;
    let start = a;
    while (start < b) {
      // No vocab entry is longer than maxTokenUnits code units, so longer candidates need no lookup.
      const maxEnd = Math.min(b, start + this.maxTokenUnits);
      let h = start === a ? FNV_BASIS : FNV_CONTINUATION;
      for (let k = start; k < maxEnd; k++) hashes[k - start] = h = fnvStep(h, s.charCodeAt(k));
      let found = -1;
      let end = maxEnd;
      for (; end > start; end--) {
        const last = s.charCodeAt(end - 1);
        // Never end a candidate between the two halves of a surrogate pair.
        if (last >= 0xd800 && last <= 0xdbff && end < b) continue;
        found = table.find(hashes[end - start - 1]!, s, start, end, start !== a);
        if (found >= 0) break;
      }
      if (found < 0) {
        out.push(this.unkId);
        return;
      }
      pieces.push(found);
      start = end;
    }
    for (let k = 0; k < pieces.length && out.length < limit; k++) out.push(pieces[k]!);
  }
}
