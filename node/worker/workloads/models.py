"""The built-in architecture catalog a `train` job can ask for: MLP, CNN, a small GPT."""

import torch
from torch import nn
from torch.nn import functional

from neurolink.spec import Architecture, CNNArch, GPTArch, MLPArch

_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}


def build(arch: Architecture) -> nn.Module:
    """A freshly initialised model (from torch's current seed) for `arch`."""
    if isinstance(arch, MLPArch):
        return _mlp(arch)
    if isinstance(arch, CNNArch):
        return _cnn(arch)
    return GPT(arch)


def _mlp(arch: MLPArch) -> nn.Module:
    layers: list[nn.Module] = []
    width = arch.in_features
    for hidden in arch.hidden:
        layers += [nn.Linear(width, hidden), _ACTIVATIONS[arch.activation]()]
        width = hidden
    layers.append(nn.Linear(width, arch.out_features))
    return nn.Sequential(*layers)


class _GlobalMean(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def _cnn(arch: CNNArch) -> nn.Module:
    # Strided convolutions and a plain mean instead of max/adaptive pooling: those have no
    # deterministic CUDA backward, and use_deterministic_algorithms would refuse them.
    layers: list[nn.Module] = []
    channels = arch.in_channels
    for out in arch.channels:
        layers += [nn.Conv2d(channels, out, 3, stride=2, padding=1), nn.ReLU()]
        channels = out
    layers += [_GlobalMean(), nn.Linear(channels, arch.num_classes)]
    return nn.Sequential(*layers)


class _Block(nn.Module):
    mask: torch.Tensor

    def __init__(self, arch: GPTArch) -> None:
        super().__init__()
        self.n_heads = arch.n_heads
        self.ln1 = nn.LayerNorm(arch.d_model)
        self.qkv = nn.Linear(arch.d_model, 3 * arch.d_model)
        self.proj = nn.Linear(arch.d_model, arch.d_model)
        self.ln2 = nn.LayerNorm(arch.d_model)
        self.mlp = nn.Sequential(
            nn.Linear(arch.d_model, 4 * arch.d_model), nn.GELU(), nn.Linear(4 * arch.d_model, arch.d_model)
        )
        mask = torch.ones(arch.block_size, arch.block_size, dtype=torch.bool).tril()
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2) for z in (q, k, v))
        # Explicit masked softmax: plain ops, deterministic on every backend.
        att = (q @ k.transpose(-2, -1)) / (d // self.n_heads) ** 0.5
        att = att.masked_fill(~self.mask[:t, :t], float("-inf")).softmax(dim=-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, d))
        out: torch.Tensor = x + self.mlp(self.ln2(x))
        return out


class GPT(nn.Module):
    """Token + position embeddings, pre-norm transformer blocks, a linear head over the vocabulary."""

    def __init__(self, arch: GPTArch) -> None:
        super().__init__()
        self.tok = nn.Embedding(arch.vocab_size, arch.d_model)
        self.pos = nn.Embedding(arch.block_size, arch.d_model)
        self.blocks = nn.Sequential(*(_Block(arch) for _ in range(arch.n_layers)))
        self.ln = nn.LayerNorm(arch.d_model)
        self.head = nn.Linear(arch.d_model, arch.vocab_size)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(idx.shape[1], device=idx.device)
        logits: torch.Tensor = self.head(self.ln(self.blocks(self.tok(idx) + self.pos(pos))))
        return logits


def loss_sum(kind: str, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Summed loss over a shard; the caller divides by the global element count."""
    if kind == "mse":
        return functional.mse_loss(output, target.to(output.dtype), reduction="sum")
    return functional.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1), reduction="sum")


def loss_elements(kind: str, output: torch.Tensor) -> int:
    """How many terms a mean loss over `output` averages: all values (mse) or all predictions (ce)."""
    return output.numel() if kind == "mse" else output.numel() // output.shape[-1]
