"""Well-known networks built as ONNX models in code, with deterministic random weights.

Full-size networks have their real shapes; the width-reduced ones (`_w4`,
`_w8`, `bert_tiny`) keep the topology with fewer channels, for fast tests.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import onnx

from accelmap.zoo import bert, mobilenet, resnet, vgg


@dataclass(frozen=True)
class Network:
    """A bundled network: its builder (keyword parameters only) and a one-line description."""

    builder: Callable[..., onnx.ModelProto]
    description: str


_NETWORKS: dict[str, Network] = {
    "resnet18": Network(partial(resnet.resnet, resnet.RESNET18),
                        "ResNet-18, 224x224, ImageNet classifier (BN unfolded)"),
    "resnet50": Network(partial(resnet.resnet, resnet.RESNET50),
                        "ResNet-50 v1.5, 224x224, ImageNet classifier (BN unfolded)"),
    "resnet18_w8": Network(partial(resnet.resnet, resnet.RESNET18_W8),
                           "ResNet-18 with channels / 8, 224x224, for tests (BN unfolded)"),
    "resnet50_w8": Network(partial(resnet.resnet, resnet.RESNET50_W8),
                           "ResNet-50 v1.5 with channels / 8, 224x224, for tests (BN unfolded)"),
    "mobilenetv2": Network(partial(mobilenet.mobilenetv2, mobilenet.MOBILENETV2),
                           "MobileNetV2 width 1.0, 224x224, ImageNet classifier (BN unfolded)"),
    "mobilenetv2_w4": Network(partial(mobilenet.mobilenetv2, mobilenet.MOBILENETV2_W4),
                              "MobileNetV2 with channels / 4, 224x224, for tests (BN unfolded)"),
    "vgg16": Network(partial(vgg.vgg16, vgg.VGG16), "VGG-16, 224x224, ImageNet classifier"),
    "vgg16_w8": Network(partial(vgg.vgg16, vgg.VGG16_W8),
                        "VGG-16 with channels and hidden units / 8, 64x64, for tests"),
    "bert": Network(bert.bert_base, "BERT-base encoder, 12 layers, seq 128 (params: seq, layers)"),
    "bert_base": Network(bert.bert_base, "BERT-base encoder, 12 layers, seq 128 (params: seq, layers)"),
    "bert_tiny": Network(bert.bert_tiny,
                         "BERT, hidden 64, 2 heads, 2 layers, seq 16, for tests (params: seq, layers)"),
}


def names() -> list[str]:
    """All bundled network names, sorted."""
    return sorted(_NETWORKS)


def build(name: str, **params: object) -> onnx.ModelProto:
    """Build the named network; `params` (e.g. `seq=64` for BERT) must be ones its builder takes."""
    accepted = parameters(name)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        takes = ", ".join(accepted) or "no parameters"
        raise ValueError(f"network {name!r} does not take {', '.join(unknown)}; it takes: {takes}")
    return _lookup(name).builder(**params)


def parameters(name: str) -> tuple[str, ...]:
    """The parameters the named network's builder takes (`build`'s `params`), in order."""
    return tuple(inspect.signature(_lookup(name).builder).parameters)


def describe(name: str) -> str:
    """One line saying what the named network is."""
    return _lookup(name).description


def _lookup(name: str) -> Network:
    """The registry entry, or a ValueError listing every bundled name."""
    if name not in _NETWORKS:
        raise ValueError(f"unknown network {name!r}; bundled: {', '.join(names())}")
    return _NETWORKS[name]
