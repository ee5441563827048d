"""The PyTorch pieces shared by the sample models (radar, EEG, ECG).

Written so that ``torch.onnx.export`` (opset 17) emits the op sequence tinytx's
ONNX frontend matches (samples/MODEL_PATTERNS.md):

- attention is explicit (not ``nn.MultiheadAttention``): MatMul projections,
  Reshape + Transpose head split, ``(q @ kT) * (1/sqrt(P))``, Softmax, ``attn @ v``,
  Transpose + Reshape head merge, MatMul output projection;
- the Linear layers inside the encoder have no bias: onnxruntime's QDQ quantizer
  turns a biased Linear on a 3-D tensor into MatMul -> Q/DQ -> Add(int8 bias), two
  roundings where the int8 kernels do one; LayerNorm supplies the offsets;
- post-norm layers: ``h = LN(x + MHSA(x))``, ``y = LN(h + FFN(h))``,
  ``FFN = Linear -> GELU (erf form) -> Linear``;
- every reshape uses the module's ``batch`` (1 when exporting; the training batch
  while training), so the exported shapes are constants.

torch is only needed to make the models (``make_model.py``), never by ``make test``.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class BatchAware(nn.Module):
    """A module whose reshapes use ``self.batch`` (set for the whole model by :func:`set_batch`)."""

    batch: int = 1


def set_batch(model: nn.Module, batch: int) -> None:
    for m in model.modules():
        if isinstance(m, BatchAware):
            m.batch = batch


class ConvTokens(BatchAware):
    """Convolutions over an NCHW input whose NHWC output, ``[B, 1, tokens, embed]`` for
    a 1-D signal, is the token sequence ``[B, tokens, embed]``."""

    def __init__(self, convs: nn.Module, tokens: int, embed: int) -> None:
        super().__init__()
        self.convs = convs
        self.tokens, self.embed = tokens, embed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.convs(x).permute(0, 2, 3, 1)  # NHWC, tinytx's own layout
        return f.reshape(self.batch, self.tokens, self.embed)


class SelfAttention(BatchAware):
    """Multi-head self-attention, x ``[B, S, E]`` -> ``[B, S, E]``."""

    def __init__(self, seq_len: int, embed: int, heads: int, head_dim: int) -> None:
        super().__init__()
        self.s, self.h, self.p = seq_len, heads, head_dim
        self.q = nn.Linear(embed, heads * head_dim, bias=False)
        self.k = nn.Linear(embed, heads * head_dim, bias=False)
        self.v = nn.Linear(embed, heads * head_dim, bias=False)
        self.o = nn.Linear(heads * head_dim, embed, bias=False)
        self.scale = 1.0 / math.sqrt(head_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, h, p = self.batch, self.s, self.h, self.p
        q = self.q(x).reshape(b, s, h, p).transpose(1, 2)  # [B, H, S, P]
        kt = self.k(x).reshape(b, s, h, p).transpose(1, 2).transpose(2, 3)  # [B, H, P, S]
        v = self.v(x).reshape(b, s, h, p).transpose(1, 2)  # [B, H, S, P]
        attn = torch.softmax((q @ kt) * self.scale, dim=-1)
        o = (attn @ v).transpose(1, 2).reshape(b, s, h * p)
        return self.o(o)


class EncoderLayer(nn.Module):
    """Post-norm transformer encoder layer."""

    def __init__(self, seq_len: int, embed: int, heads: int, head_dim: int, ffn: int) -> None:
        super().__init__()
        self.attn = SelfAttention(seq_len, embed, heads, head_dim)
        self.ln1 = nn.LayerNorm(embed)
        self.ffn = nn.Sequential(
            nn.Linear(embed, ffn, bias=False), nn.GELU(), nn.Linear(ffn, embed, bias=False)
        )
        self.ln2 = nn.LayerNorm(embed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x + self.attn(x))
        return self.ln2(h + self.ffn(h))


class TokenClassifier(nn.Module):
    """frontend -> + learned positions -> encoder layers -> mean over tokens -> Gemm."""

    def __init__(
        self,
        frontend: nn.Module,
        seq_len: int,
        embed: int,
        heads: int,
        head_dim: int,
        ffn: int,
        layers: int,
        classes: int,
    ) -> None:
        super().__init__()
        self.frontend = frontend
        self.pos = nn.Parameter(0.1 * torch.randn(1, seq_len, embed))
        self.layers = nn.ModuleList(
            EncoderLayer(seq_len, embed, heads, head_dim, ffn) for _ in range(layers)
        )
        self.head = nn.Linear(embed, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.frontend(x) + self.pos  # [B, S, E]
        for layer in self.layers:
            t = layer(t)
        return self.head(t.mean(dim=1))
