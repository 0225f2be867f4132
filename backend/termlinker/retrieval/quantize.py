"""int8 graphs whose result for a text does not depend on the other texts in its batch.

onnxruntime's dynamic quantization (``DynamicQuantizeLinear``) computes one scale over the
whole activation tensor, that is over every token of every text in the batch: a term linked
alone and inside a longer list got different vectors (up to 0.04 apart) and, for 3% of
terms, a different first candidate. Here each of those nodes is replaced by per-token
symmetric quantization: every token row gets its own scale, max|x| / 127, so a text's
vector depends only on its own tokens. It is also a finer quantization than one scale per
batch (AAP validation, docs/experiments.md).

The quantized rows are stored as uint8 around a fixed zero point of 128 (the same numbers
as int8), because onnxruntime's fast integer kernels take uint8 activations with a scalar
zero point. Training-only: this module imports ``onnx``, lazily, and is not on the link path.

Graphs written here must run at ``ORT_ENABLE_BASIC``: onnxruntime's extended fusion of
``MatMulInteger → Cast → Mul`` into ``MatMulIntegerToFloat`` takes the activation scale to be
one number and silently uses the first row's scale for every row (vectors then keep a cosine
of 0.58 to the fp32 model, against 0.96). :data:`SCHEME` in an encoder manifest tells the
encoder to do so.
"""

from __future__ import annotations

import os

SCHEME = "per-token"
_ZERO_POINT = 128


def per_token_int8(dynamic_graph: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Rewrite a graph from ``onnxruntime.quantization.quantize_dynamic`` to per-token scales."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(dynamic_graph))
    graph = model.graph
    _check_layout(model)
    graph.initializer.extend([
        numpy_helper.from_array(np.array(127.0, np.float32), "per_token_qmax"),
        numpy_helper.from_array(np.array(-127.0, np.float32), "per_token_qmin"),
        numpy_helper.from_array(np.array(1e-12, np.float32), "per_token_eps"),
        numpy_helper.from_array(np.array(float(_ZERO_POINT), np.float32), "per_token_shift"),
        numpy_helper.from_array(np.array(_ZERO_POINT, np.uint8), "per_token_zero_point"),
    ])
    nodes = []
    rewritten = 0
    for node in graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            nodes.append(node)
            continue
        x, (quantized, scale, zero_point), p = node.input[0], node.output, node.name
        nodes += [
            helper.make_node("Abs", [x], [f"{p}_abs"]),
            helper.make_node("ReduceMax", [f"{p}_abs"], [f"{p}_absmax"], axes=[-1], keepdims=1),
            helper.make_node("Max", [f"{p}_absmax", "per_token_eps"], [f"{p}_range"]),  # an all-zero row
            helper.make_node("Div", [f"{p}_range", "per_token_qmax"], [scale]),
            helper.make_node("Div", [x, scale], [f"{p}_scaled"]),
            helper.make_node("Round", [f"{p}_scaled"], [f"{p}_rounded"]),
            helper.make_node("Clip", [f"{p}_rounded", "per_token_qmin", "per_token_qmax"], [f"{p}_clipped"]),
            helper.make_node("Add", [f"{p}_clipped", "per_token_shift"], [f"{p}_shifted"]),
            helper.make_node("Cast", [f"{p}_shifted"], [quantized], to=TensorProto.UINT8),
            helper.make_node("Identity", ["per_token_zero_point"], [zero_point]),
        ]
        rewritten += 1
    if not rewritten:
        raise ValueError(f"{dynamic_graph} has no DynamicQuantizeLinear node to rewrite")
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(target))


def _check_layout(model) -> None:
    """What the rewrite relies on, as ``quantize_dynamic`` lays graphs out today: ReduceMax still
    takes ``axes`` as an attribute (opset < 18), and each quantized tensor feeds only input A of
    MatMulInteger (with its zero point) while its scale feeds only Mul. Anything else is refused
    rather than rewritten into a graph that computes something else."""
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if opset >= 18:
        raise ValueError(f"per-token rewrite expects opset < 18, the graph has {opset}")
    uses: dict[str, set[tuple[str, int]]] = {}
    for node in model.graph.node:
        for position, name in enumerate(node.input):
            uses.setdefault(name, set()).add((node.op_type, position))
    for node in model.graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            continue
        quantized, scale, zero_point = node.output
        if not (uses.get(quantized, set()) <= {("MatMulInteger", 0)}
                and uses.get(zero_point, set()) <= {("MatMulInteger", 2)}
                and {op for op, _ in uses.get(scale, set())} <= {"Mul"}):
            raise ValueError(f"{node.name}: its outputs feed other nodes than MatMulInteger and Mul")
