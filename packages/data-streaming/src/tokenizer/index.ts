export { BertTokenizer, type EncodeOptions, type Encoding } from "./bert-tokenizer.js";
export { bertBaseUncased, bertBaseUncasedVocabPath } from "./bert-base-uncased.js";
export { folderNormalizer, modelFolderTokenizer, tokenizerFromFile } from "./model-folder.js";
export { bertNormalize, UNCASED_NORMALIZER, type NormalizerOptions } from "./normalize.js";
export { normalizerFromConfig, normalizerFromTokenizerJson, tokenizerConfigFor } from "./settings.js";
export { longestFirstLengths } from "./truncate.js";
export {
  REQUIRED_SPECIAL_TOKENS,
  VocabError,
  loadVocab,
  parseTokenizerJson,
  parseVocabTxt,
  vocabFromTokens,
  type Vocab,
} from "./vocab.js";
export { tokenizeStream, type TokenizeInputMode, type TokenizeStreamOptions } from "./stream.js";
