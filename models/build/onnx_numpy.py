"""A small numpy interpreter for the ONNX operators our exported models use.

There is no onnxruntime for Debian's Python and onnx 1.12 has no reference evaluator, so the
build checks each exported .onnx file by running its graph here (reading the file, not the torch
module) and comparing with torch.
"""
import numpy as np
import onnx
from onnx import numpy_helper


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _im2col_conv(x, w, b, strides, pads, dilations, group):
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    pt, pl, pb, pr = pads
    sh, sw = strides
    dh, dw = dilations
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    out = np.empty((n, m, oh, ow), dtype=np.float32)
    mg = m // group
    for g in range(group):
        xg = xp[:, g * cg:(g + 1) * cg]
        cols = np.empty((n, cg, kh, kw, oh, ow), dtype=np.float32)
        for i in range(kh):
            for j in range(kw):
                cols[:, :, i, j] = xg[:, :, i * dh:i * dh + sh * oh:sh, j * dw:j * dw + sw * ow:sw]
        wg = w[g * mg:(g + 1) * mg].reshape(mg, -1)
        out[:, g * mg:(g + 1) * mg] = np.einsum("mk,nkp->nmp", wg, cols.reshape(n, cg * kh * kw, oh * ow),
                                                optimize=True).reshape(n, mg, oh, ow)
    if b is not None:
        out += b[None, :, None, None]
    return out


def _maxpool(x, kernel, strides, pads):
    if any(pads):
        x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])), constant_values=-np.inf)
    kh, kw = kernel
    sh, sw = strides
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.full((n, c, oh, ow), -np.inf, dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            out = np.maximum(out, x[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw])
    return out


def _run_node(node, inputs):
    op, a = node.op_type, _attrs(node)
    if op == "Conv":
        x, w = inputs[0], inputs[1]
        b = inputs[2] if len(inputs) > 2 else None
        k = len(w.shape) - 2
        return [_im2col_conv(x, w, b, a.get("strides", [1] * k), a.get("pads", [0] * 2 * k),
                             a.get("dilations", [1] * k), a.get("group", 1))]
    if op == "Identity":
        return [inputs[0]]
    if op == "Relu":
        return [np.maximum(inputs[0], 0)]
    if op == "Clip":
        lo = inputs[1] if len(inputs) > 1 and inputs[1] is not None else -np.inf
        hi = inputs[2] if len(inputs) > 2 and inputs[2] is not None else np.inf
        return [np.clip(inputs[0], lo, hi)]
    if op == "MaxPool":
        k = a["kernel_shape"]
        return [_maxpool(inputs[0], k, a.get("strides", [1] * len(k)), a.get("pads", [0] * 2 * len(k)))]
    if op == "GlobalAveragePool":
        return [inputs[0].mean(axis=(2, 3), keepdims=True)]
    if op == "Flatten":
        axis = a.get("axis", 1)
        x = inputs[0]
        return [x.reshape(int(np.prod(x.shape[:axis])), -1)]
    if op == "Reshape":
        shape = [int(s) for s in inputs[1]]
        shape = [inputs[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
        return [inputs[0].reshape(shape)]
    if op == "Gemm":
        x, w = inputs[0], inputs[1]
        if a.get("transA", 0):
            x = x.T
        if a.get("transB", 0):
            w = w.T
        y = a.get("alpha", 1.0) * (x @ w)
        if len(inputs) > 2:
            y = y + a.get("beta", 1.0) * inputs[2]
        return [y.astype(np.float32)]
    if op == "MatMul":
        return [inputs[0] @ inputs[1]]
    if op == "Add":
        return [inputs[0] + inputs[1]]
    if op == "Constant":
        return [numpy_helper.to_array(a["value"])]
    raise NotImplementedError(f"onnx_numpy: operator {op} (node {node.name}) is not implemented")


class OnnxNumpyModel:
    def __init__(self, path):
        self.model = onnx.load(path)
        onnx.checker.check_model(self.model)
        g = self.model.graph
        self.initializers = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.input_names = [i.name for i in g.input if i.name not in self.initializers]
        self.output_names = [o.name for o in g.output]
        self.ops = sorted({n.op_type for n in g.node})

    def run(self, feeds):
        values = dict(self.initializers)
        values.update(feeds)
        for node in self.model.graph.node:
            ins = [values[n] if n else None for n in node.input]
            for name, val in zip(node.output, _run_node(node, ins)):
                values[name] = val
        return [values[n] for n in self.output_names]

    def run_batched(self, x, batch_size=500):
        outs = [self.run({self.input_names[0]: x[i:i + batch_size]})[0] for i in range(0, len(x), batch_size)]
        return np.concatenate(outs)
