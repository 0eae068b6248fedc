/** Error for a vocabulary or tokenizer file that cannot be used; always names the file and what is wrong. */
export class VocabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VocabError";
  }
}
