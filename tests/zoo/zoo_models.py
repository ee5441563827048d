"""The zoo's PyTorch models (torch, timm, transformers; only make_zoo.py imports this).

Each model maps one float input (the shape ``zoo_data`` produces, batch first) to
``[batch, classes]`` logits, built the way a user would write it with the stock
modules: nothing here is shaped to please the converter.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class Pool(nn.Module):
    """Mean over tokens or the first token of ``[B, S, E]``."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        if mode not in ("mean", "token0"):
            raise ValueError(mode)
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1) if self.mode == "mean" else x[:, 0]


class SequenceClassifier(nn.Module):
    """Linear token embedding + learned positions -> encoder -> pool -> Linear."""

    def __init__(
        self, encoder: nn.Module, tokens: int, features: int, embed: int, classes: int, pool: str
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(features, embed)
        self.pos = nn.Parameter(torch.randn(1, tokens, embed) * 0.02)
        self.encoder = encoder
        self.pool = Pool(pool)
        self.head = nn.Linear(embed, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.encoder(self.embed(x) + self.pos)))


def encoder_layer(
    embed: int, heads: int, ffn: int, norm_first: bool, activation: str
) -> nn.TransformerEncoderLayer:
    return nn.TransformerEncoderLayer(
        embed,
        heads,
        dim_feedforward=ffn,
        dropout=0.1,
        activation=activation,
        batch_first=True,
        norm_first=norm_first,
    )


def tel_classifier(
    tokens: int,
    features: int,
    classes: int,
    *,
    embed: int = 32,
    heads: int = 4,
    ffn: int = 64,
    norm_first: bool = False,
    activation: str = "relu",
    pool: str = "mean",
) -> nn.Module:
    layer = encoder_layer(embed, heads, ffn, norm_first, activation)
    return SequenceClassifier(layer, tokens, features, embed, classes, pool)


def stack_classifier(
    tokens: int,
    features: int,
    classes: int,
    *,
    layers: int = 4,
    embed: int = 32,
    heads: int = 2,
    ffn: int = 64,
    norm_first: bool = True,
    activation: str = "gelu",
    pool: str = "mean",
) -> nn.Module:
    layer = encoder_layer(embed, heads, ffn, norm_first, activation)
    enc = nn.TransformerEncoder(
        layer, num_layers=layers, norm=nn.LayerNorm(embed), enable_nested_tensor=False
    )
    return SequenceClassifier(enc, tokens, features, embed, classes, pool)


class MHABlock(nn.Module):
    """Pre-norm block around nn.MultiheadAttention, FFN Linear-GELU-Linear."""

    def __init__(self, embed: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(embed)
        self.attn = nn.MultiheadAttention(embed, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(embed)
        self.ffn = nn.Sequential(nn.Linear(embed, ffn), nn.GELU(), nn.Linear(ffn, embed))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.ffn(self.norm2(x))


def mha_classifier(
    tokens: int, features: int, classes: int, *, embed: int = 32, heads: int = 2, ffn: int = 96
) -> nn.Module:
    enc = nn.Sequential(MHABlock(embed, heads, ffn), nn.LayerNorm(embed))
    return SequenceClassifier(enc, tokens, features, embed, classes, "mean")


class CustomAttention(nn.Module):
    """Hand-written attention: separate q/k/v Linears, view/transpose, softmax(QK^T/sqrt(P))V."""

    def __init__(self, embed: int, heads: int) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, embed // heads
        self.q = nn.Linear(embed, embed)
        self.k = nn.Linear(embed, embed)
        self.v = nn.Linear(embed, embed)
        self.out = nn.Linear(embed, embed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, e = x.shape
        q = self.q(x).view(b, s, self.heads, self.head_dim).transpose(1, 2)
        k = self.k(x).view(b, s, self.heads, self.head_dim).transpose(1, 2)
        v = self.v(x).view(b, s, self.heads, self.head_dim).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.head_dim), dim=-1)
        return self.out((att @ v).transpose(1, 2).reshape(b, s, e))


class CustomBlock(nn.Module):
    """Post-norm block: CustomAttention, FFN Linear-act-Linear (act: Hardswish, SiLU, ...)."""

    def __init__(self, embed: int, heads: int, ffn: int, act: nn.Module) -> None:
        super().__init__()
        self.attn = CustomAttention(embed, heads)
        self.norm1 = nn.LayerNorm(embed)
        self.ffn = nn.Sequential(nn.Linear(embed, ffn), act, nn.Linear(ffn, embed))
        self.norm2 = nn.LayerNorm(embed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.attn(x))
        return self.norm2(x + self.ffn(x))


class SigmoidGate(nn.Module):
    """x * sigmoid(x) written out (exports as Sigmoid + Mul, unlike nn.SiLU)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


def custom_classifier(
    tokens: int,
    features: int,
    classes: int,
    *,
    act: str,
    embed: int = 32,
    heads: int = 2,
    ffn: int = 64,
) -> nn.Module:
    acts = {"hardswish": nn.Hardswish, "silu": nn.SiLU, "sigmoidgate": SigmoidGate}
    enc = CustomBlock(embed, heads, ffn, acts[act]())
    return SequenceClassifier(enc, tokens, features, embed, classes, "mean")


class ConvFrontClassifier(nn.Module):
    """[B, C, L] -> Conv1d+BatchNorm+ReLU -> tokens [B, L, E] -> TransformerEncoderLayer."""

    def __init__(
        self, channels: int, length: int, classes: int, embed: int = 32, heads: int = 2
    ) -> None:
        super().__init__()
        self.front = nn.Sequential(
            nn.Conv1d(channels, embed, kernel_size=3, padding=1),
            nn.BatchNorm1d(embed),
            nn.ReLU(),
        )
        self.layer = encoder_layer(embed, heads, 2 * embed, norm_first=False, activation="gelu")
        self.head = nn.Linear(embed, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.front(x).transpose(1, 2)
        return self.head(self.layer(tokens).mean(dim=1))


def vit_classifier(
    size: int,
    channels: int,
    classes: int,
    *,
    embed: int = 32,
    depth: int = 2,
    heads: int = 2,
    pool: str = "token",
) -> nn.Module:
    from timm.models.vision_transformer import VisionTransformer

    return VisionTransformer(
        img_size=size,
        patch_size=8,
        in_chans=channels,
        num_classes=classes,
        embed_dim=embed,
        depth=depth,
        num_heads=heads,
        mlp_ratio=2.0,
        global_pool=pool,
    )


class BertClassifier(nn.Module):
    """BertForSequenceClassification fed with ``inputs_embeds`` (no ids, no mask)."""

    def __init__(self, tokens: int, hidden: int, classes: int, attn: str) -> None:
        super().__init__()
        from transformers import BertConfig, BertForSequenceClassification

        cfg = BertConfig(
            vocab_size=64,
            hidden_size=hidden,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=2 * hidden,
            max_position_embeddings=tokens,
            num_labels=classes,
            attn_implementation=attn,
        )
        self.bert = BertForSequenceClassification(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bert(inputs_embeds=x).logits
