/**
 * Hugging Face `tokenizers` longest-first truncation of a pair to `budget` tokens (max_length minus the added
 * special tokens). Returns the lengths to keep for the first and second sequence. When both must be cut, the
 * budget is halved; the odd token goes to the longer input (to the second one on a tie), as in the Rust code.
 */
export function longestFirstLengths(nA: number, nB: number, budget: number): [number, number] {
  if (nA + nB <= budget) return [nA, nB];
  let n1 = nA;
  let n2 = nB;
  const swap = n1 > n2;
  if (swap) [n1, n2] = [n2, n1];
  // n1 is now the shorter one.
  n2 = n1 > budget ? n1 : Math.max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = Math.floor(budget / 2);
    n2 = n1 + (budget % 2);
  }
  return swap ? [n2, n1] : [n1, n2];
}
