# MosaicBERT for Hugging Face transformers (trust_remote_code=True), shipped by mosaicbert-ts beside the weights
# of every MosaicBERT folder it writes, so `AutoModelForMaskedLM` / `AutoModelForSequenceClassification` give
# the same outputs as `mosaicbert infer`. Written from the architecture description of mosaicbert-ts
# (ALiBi attention, GeGLU feed-forward, post-LayerNorm); parameter names are those of the reference
# checkpoints. Plain PyTorch: attention runs on the padded batch with an additive bias (ALiBi + key padding),
# which gives the unpadded model's numbers on every real token. Apache-2.0.
import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.activations import ACT2FN
from transformers.modeling_outputs import BaseModelOutputWithPooling, MaskedLMOutput, SequenceClassifierOutput

from .configuration_mosaic_bert import MosaicBertConfig


def alibi_slopes(num_heads: int) -> torch.Tensor:
    """ALiBi head slopes: 2^(-8(k+1)/n) for a power of two n; otherwise the largest power of two p below,
    then every other slope of the 2p-head list."""

    def power_of_two(n):
        start = 2.0 ** (-(2.0 ** -(math.log2(n) - 3)))
        return [start ** (k + 1) for k in range(n)]

    if math.log2(num_heads).is_integer():
        slopes = power_of_two(num_heads)
    else:
        p = 2 ** math.floor(math.log2(num_heads))
        slopes = power_of_two(p) + power_of_two(2 * p)[0::2][: num_heads - p]
    return torch.tensor(slopes, dtype=torch.float32)


class MosaicBertEmbeddings(nn.Module):
    """Word + token-type embeddings, LayerNorm, dropout; no position embeddings."""

    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids):
        e = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(e))


class MosaicBertSelfAttention(nn.Module):
    """Fused Q, K, V projection (rows: Q, then K, then V, heads contiguous) and softmax(QK^T/sqrt(d) + bias) V."""

    def __init__(self, config):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.Wqkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def forward(self, x, bias):
        B, S, H = x.shape
        qkv = self.Wqkv(x).view(B, S, 3, self.num_heads, self.head_dim)
        q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))  # [B, nh, S, dh]
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + bias
        probs = self.dropout(torch.softmax(scores.float(), dim=-1).to(v.dtype))
        return torch.matmul(probs, v).transpose(1, 2).reshape(B, S, H)


class MosaicBertSelfOutput(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, ctx, residual):
        return self.LayerNorm(self.dropout(self.dense(ctx)) + residual)


class MosaicBertAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self = MosaicBertSelfAttention(config)
        self.output = MosaicBertSelfOutput(config)

    def forward(self, x, bias):
        return self.output(self.self(x, bias), x)


class MosaicBertGatedMlp(nn.Module):
    """GeGLU: gated_layers (no bias) -> exact GELU(first half) * second half -> dropout -> wo -> LayerNorm(+residual)."""

    def __init__(self, config):
        super().__init__()
        self.intermediate_size = config.intermediate_size
        self.gated_layers = nn.Linear(config.hidden_size, 2 * config.intermediate_size, bias=False)
        self.wo = nn.Linear(config.intermediate_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, a):
        g = self.gated_layers(a)
        h = F.gelu(g[..., : self.intermediate_size]) * g[..., self.intermediate_size :]
        return self.layernorm(self.wo(self.dropout(h)) + a)


class MosaicBertLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attention = MosaicBertAttention(config)
        self.mlp = MosaicBertGatedMlp(config)

    def forward(self, x, bias):
        return self.mlp(self.attention(x, bias))


class MosaicBertEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList([MosaicBertLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, x, bias):
        for layer in self.layer:
            x = layer(x, bias)
        return x


class MosaicBertPooler(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, h):
        return torch.tanh(self.dense(h[:, 0]))


class MosaicBertPreTrainedModel(PreTrainedModel):
    config_class = MosaicBertConfig
    base_model_prefix = "bert"
    supports_gradient_checkpointing = False

    def _init_weights(self, module):
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=std)
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=std)
            if module.padding_idx is not None:
                module.weight.data[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            module.weight.data.fill_(1.0)
            module.bias.data.zero_()
        elif isinstance(module, MosaicBertLMDecoder):
            module.bias.data.zero_()


class MosaicBertModel(MosaicBertPreTrainedModel):
    """The encoder: last_hidden_state [B, S, H] (padded positions are zero) and, with a pooler, pooler_output."""

    def __init__(self, config, add_pooling_layer=True):
        super().__init__(config)
        self.embeddings = MosaicBertEmbeddings(config)
        self.encoder = MosaicBertEncoder(config)
        self.pooler = MosaicBertPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value):
        self.embeddings.word_embeddings = value

    def attention_bias(self, attention_mask, dtype):
        """[B, nh, S, S]: -slope_h * |i - j| (positions of the padded batch) plus -10000 on padded keys."""
        S = attention_mask.shape[1]
        pos = torch.arange(S, device=attention_mask.device)
        dist = (pos[None, :] - pos[:, None]).abs().float()
        slopes = alibi_slopes(self.config.num_attention_heads).to(attention_mask.device)  # computed here: no buffer to load
        alibi = -slopes[:, None, None] * dist  # [nh, S, S]
        pad = (1.0 - attention_mask.float()) * -10000.0  # [B, S]
        return (alibi[None] + pad[:, None, None, :]).to(dtype)

    def forward(
        self,
        input_ids: Optional[torch.Tensor] = None,
        attention_mask: Optional[torch.Tensor] = None,
        token_type_ids: Optional[torch.Tensor] = None,
        return_dict: Optional[bool] = None,
        **kwargs,
    ):
        if input_ids is None:
            raise ValueError("MosaicBertModel needs input_ids")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.embeddings(input_ids, token_type_ids)
        x = self.encoder(x, self.attention_bias(attention_mask, x.dtype))
        x = x * (attention_mask != 0).unsqueeze(-1).to(x.dtype)  # padded rows are zeros, as in the unpadded model
        pooled = self.pooler(x) if self.pooler is not None else None
        return BaseModelOutputWithPooling(last_hidden_state=x, pooler_output=pooled)


class MosaicBertLMDecoder(nn.Module):
    """The output bias of the MLM head; its weight is the word-embedding matrix (tied, not stored twice)."""

    def __init__(self, config):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))


class MosaicBertLMPredictionHead(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.transform = nn.Module()
        self.transform.dense = nn.Linear(config.hidden_size, config.hidden_size)
        # As the reference: hidden_act is used here only (the GLU is exact GELU), and this LayerNorm's eps is 1e-12.
        self.transform.act = ACT2FN[config.hidden_act]
        self.transform.LayerNorm = nn.LayerNorm(config.hidden_size, eps=1e-12)
        self.decoder = MosaicBertLMDecoder(config)


class MosaicBertOnlyMLMHead(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.predictions = MosaicBertLMPredictionHead(config)


class MosaicBertForMaskedLM(MosaicBertPreTrainedModel):
    # Older exports store the tied decoder weight as well; it is the word-embedding matrix.
    _keys_to_ignore_on_load_unexpected = [r"cls\.predictions\.decoder\.weight", r"bert\.encoder\.alibi"]

    def __init__(self, config):
        super().__init__(config)
        self.bert = MosaicBertModel(config, add_pooling_layer=False)
        self.cls = MosaicBertOnlyMLMHead(config)
        self.post_init()

    def get_input_embeddings(self):
        return self.bert.embeddings.word_embeddings

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, return_dict=None, **kwargs):
        h = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
        p = self.cls.predictions
        t = p.transform.LayerNorm(p.transform.act(p.transform.dense(h)))
        logits = F.linear(t, self.bert.embeddings.word_embeddings.weight, p.decoder.bias)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]).float(), labels.view(-1), ignore_index=-100)
        return MaskedLMOutput(loss=loss, logits=logits)


class MosaicBertForSequenceClassification(MosaicBertPreTrainedModel):
    _keys_to_ignore_on_load_unexpected = [r"cls\.", r"bert\.encoder\.alibi"]

    def __init__(self, config):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = MosaicBertModel(config, add_pooling_layer=True)
        p = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, return_dict=None, **kwargs):
        pooled = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).pooler_output
        logits = self.classifier(self.dropout(pooled))
        loss = None
        if labels is not None:
            problem = self.config.problem_type
            if problem is None:
                problem = "regression" if self.num_labels == 1 else (
                    "single_label_classification" if labels.dtype in (torch.long, torch.int) else "multi_label_classification")
            if problem == "regression":
                loss = F.mse_loss(logits.squeeze(-1).float(), labels.float().view(-1))
            elif problem == "single_label_classification":
                loss = F.cross_entropy(logits.view(-1, self.num_labels).float(), labels.view(-1))
            else:
                loss = F.binary_cross_entropy_with_logits(logits.float(), labels.float())
        return SequenceClassifierOutput(loss=loss, logits=logits)
