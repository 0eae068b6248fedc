# MosaicBERT configuration for Hugging Face transformers (trust_remote_code=True), shipped by mosaicbert-ts
# beside the weights of every MosaicBERT folder it writes. Apache-2.0.
try:  # transformers >= 5
    from transformers import PreTrainedConfig as _BaseConfig
except ImportError:  # transformers 4.x
    from transformers import PretrainedConfig as _BaseConfig


class MosaicBertConfig(_BaseConfig):
    """BERT sizes plus `alibi_starting_size`. MosaicBERT has no position embeddings (ALiBi attention biases);
    `max_position_embeddings` is kept for compatibility only and limits nothing."""

    model_type = "mosaic_bert"

    def __init__(
        self,
        vocab_size=30528,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.0,
        max_position_embeddings=512,
        type_vocab_size=2,
        initializer_range=0.02,
        layer_norm_eps=1e-12,
        pad_token_id=0,
        alibi_starting_size=512,
        classifier_dropout=None,
        **kwargs,
    ):
        kwargs.setdefault("tie_word_embeddings", True)
        super().__init__(**kwargs)
        self.pad_token_id = pad_token_id
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.alibi_starting_size = alibi_starting_size
        self.classifier_dropout = classifier_dropout
