"""The small sequence classifier for landmark clips: a transformers config + model pair of our own.

Registered with ``AutoConfig`` / ``AutoModelForSequenceClassification`` under ``model_type`` "signspace-sequence"
when this module is imported, so ``save_pretrained`` / ``from_pretrained`` work with plain safetensors and
SignSpace loads it without ``trust_remote_code``.

Architecture (chosen by measurement, docs/benchmarks.md): the shared ``landmarks.normalise`` per frame, a
per-frame MLP embedding, learned positions, depthwise temporal convolutions, a small Transformer encoder, mean
pooling over the frames where a hand was seen, a linear head. About 0.35 M parameters at the defaults.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from signspace.core.kinds import SEQUENCE_MODEL_TYPE
from signspace.core.landmarks import FRAME_VALUES, NORMALISED_PER_HAND, normalise

MODEL_TYPE = SEQUENCE_MODEL_TYPE


class SignSequenceConfig(PretrainedConfig):
    model_type = MODEL_TYPE

    def __init__(
        self,
        sequence_length: int = 32,
        hidden_size: int = 128,
        num_conv_blocks: int = 2,
        conv_kernel: int = 5,
        num_layers: int = 2,
        num_heads: int = 4,
        dropout: float = 0.1,
        feature_groups=("hands",),
        window_seconds: float = 1.5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.sequence_length = sequence_length
        self.hidden_size = hidden_size
        self.num_conv_blocks = num_conv_blocks
        self.conv_kernel = conv_kernel
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.dropout = dropout
        self.feature_groups = list(feature_groups)
        self.window_seconds = window_seconds  # the app's live window: the typical clip length in training


class _ConvBlock(nn.Module):
    def __init__(self, width: int, kernel: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.depthwise = nn.Conv1d(width, width, kernel, padding=kernel // 2, groups=width)
        self.pointwise = nn.Linear(width, width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        y = self.depthwise(self.norm(x).transpose(1, 2)).transpose(1, 2)
        return x + self.dropout(self.pointwise(nn.functional.gelu(y)))


class SignSequenceModel(PreTrainedModel):
    config_class = SignSequenceConfig
    main_input_name = "input_values"
    base_model_prefix = "signspace"

    def __init__(self, config: SignSequenceConfig):
        super().__init__(config)
        width = config.hidden_size
        self.embed = nn.Sequential(
            nn.Linear(2 * NORMALISED_PER_HAND, width), nn.LayerNorm(width), nn.GELU(), nn.Linear(width, width)
        )
        self.positions = nn.Parameter(torch.zeros(1, config.sequence_length, width))
        self.convs = nn.ModuleList(
            _ConvBlock(width, config.conv_kernel, config.dropout) for _ in range(config.num_conv_blocks)
        )
        layer = nn.TransformerEncoderLayer(
            width, config.num_heads, 2 * width, config.dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, config.num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(width, config.num_labels))
        self.post_init()

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(
        self, input_values: torch.Tensor, labels: torch.Tensor | None = None, **kwargs
    ) -> SequenceClassifierOutput:
        """``input_values``: B x T x 258 raw landmark frames (Holistic layout), T = ``sequence_length``."""
        logits, _ = self.classify(input_values)
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)

    @property
    def head_layer(self) -> nn.Linear:
        """The last layer: logits = features @ weight.T + bias (personal adaptation refits it per visitor)."""
        layer = self.head[-1]
        assert isinstance(layer, nn.Linear)
        return layer

    def classify(self, input_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, features): the features are what the head reads (B x hidden_size, pooled over the frames with a
        hand), so ``adaptation.py`` can learn a visitor's form of a sign from them without running the model
        twice."""
        if input_values.shape[-1] != FRAME_VALUES or input_values.shape[1] != self.config.sequence_length:
            raise ValueError(
                f"expected B x {self.config.sequence_length} x {FRAME_VALUES} landmark frames, got "
                f"{tuple(input_values.shape)}"
            )
        features = normalise(input_values, self.config.feature_groups)
        seen = (features.abs().sum(-1) > 0).float()  # frames with a hand
        x = self.embed(features) + self.positions
        for block in self.convs:
            x = block(x)
        x = self.norm(self.encoder(x))
        weight = torch.where(seen.sum(1, keepdim=True) > 0, seen, torch.ones_like(seen))
        pooled = (x * weight[..., None]).sum(1) / weight.sum(1, keepdim=True)
        return self.head(pooled), pooled


AutoConfig.register(MODEL_TYPE, SignSequenceConfig, exist_ok=True)
AutoModelForSequenceClassification.register(SignSequenceConfig, SignSequenceModel, exist_ok=True)
