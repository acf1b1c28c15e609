"""The segmentation network in PyTorch, for the speed comparison and as the reference for
researchers who train in PyTorch and bring their weights to Isotherm.

Tensor names match the Candle network (`plugins/segmentation/src/net.rs`), so
`safetensors.torch.save_file(model.state_dict(), "unet.safetensors")` writes weights
the plugin loads (with the matching `unet.toml`).

    python bench/segmentation_torch.py MODEL_DIR BENCH_OUT_DIR
checks the probe written by `isotherm-segmentation bench` and times the same forward
passes.
"""
import json
import os
import sys
import time
import tomllib

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn


class Block(nn.Module):
    """conv3x3 -> GroupNorm -> ReLU, twice."""

    def __init__(self, cin, cout, groups):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm1 = nn.GroupNorm(groups, cout, eps=1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-5)

    def forward(self, x):
        x = F.relu(self.norm1(self.conv1(x)))
        return F.relu(self.norm2(self.conv2(x)))


class Up(Block):
    """Nearest 2x upsampling, conv3x3 + ReLU, concatenation with the skip, Block."""

    def __init__(self, below, c, groups):
        super().__init__(2 * c, c, groups)
        self.up = nn.Conv2d(below, c, 3, padding=1)


class UNet25D(nn.Module):
    def __init__(self, arch):
        super().__init__()
        base, depth, groups = arch["base_channels"], arch["depth"], arch["groups"]
        ch = [base << level for level in range(depth + 1)]
        self.depth = depth
        self.enc = nn.ModuleList(Block(arch["in_slices"] if level == 0 else ch[level - 1], ch[level], groups) for level in range(depth + 1))
        self.dec = nn.ModuleList(Up(ch[level + 1], ch[level], groups) for level in range(depth))
        self.head = nn.Conv2d(ch[0], len(arch["classes"]), 1)

    def forward(self, x):
        skips, h = [], x
        for level, enc in enumerate(self.enc):
            if level > 0:
                h = F.max_pool2d(h, 2)
            h = enc(h)
            if level < self.depth:
                skips.append(h)
        for level in reversed(range(self.depth)):
            skip, dec = skips[level], self.dec[level]
            up = F.relu(dec.up(F.interpolate(h, size=skip.shape[-2:], mode="nearest")))
            h = Block.forward(dec, torch.cat([skip, up], 1))
        return self.head(h)


def main(model_dir, out_dir):
    with open(os.path.join(model_dir, "unet.toml"), "rb") as f:
        arch = tomllib.load(f)
    model = UNet25D(arch)
    model.load_state_dict(load_file(os.path.join(model_dir, "unet.safetensors")), strict=True)
    model.eval()
    probe = load_file(os.path.join(out_dir, "probe.safetensors"))
    with torch.inference_mode():
        logits = model(probe["input"])
        diff = (logits - probe["logits"]).abs().max().item()
        pdiff = (F.softmax(logits, dim=1) - probe["probabilities"]).abs().max().item()
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads: probe max |logit difference| vs Candle = {diff:.2e}, "
          f"|probability difference| vs Isotherm's inference pass = {pdiff:.2e}")
    assert diff < 1e-3 and pdiff < 1e-4, "PyTorch and Isotherm disagree"
    plan = json.load(open(os.path.join(out_dir, "plan.json")))
    inputs = [torch.randn(kn, arch["in_slices"], h, w) for kn, h, w in plan["passes"]]
    best = float("inf")
    with torch.inference_mode():
        for _ in range(3):
            start = time.perf_counter()
            for x in inputs:
                F.softmax(model(x), dim=1).numpy()
            best = min(best, time.perf_counter() - start)
    print(f"{plan['dims']}: network {best:.2f} s in PyTorch vs {plan['candle_network_seconds']:.2f} s in Candle ({len(inputs)} passes)")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from rows import emit
    d = plan["dims"]
    row = "segmentation network"
    emit(row, "Isotherm", plan["candle_network_seconds"], f"(probabilities agree to {pdiff:.1e})", input=f"{d[0]}x{d[1]}x{d[2]} CT, {len(inputs)} forward passes, same weights")
    emit(row, "PyTorch", best, f"({torch.__version__}, {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
