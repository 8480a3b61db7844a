"""Fine-tuning engine bake-off, Python side (issue #22): JAX on CPU.

Same BERT arithmetic as src/train/encoder/tfjs-bert.ts, weights read from the
ONNX file with the `onnx` package; fidelity against the token states dumped by
bench/finetune-engines.ts (--dump), and one jitted fwd+bwd step at 32 x 64.

  python bench/python/finetune_engines.py MODEL.onnx REFERENCE.json [steps]
"""
import json, math, os, sys, time

import jax
import jax.numpy as jnp
import numpy as np
import onnx
from onnx import numpy_helper

model = onnx.load(sys.argv[1])
ref = json.load(open(sys.argv[2]))
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
nodes = {n.name: n for n in model.graph.node}
layers = 0
while f"/encoder/layer.{layers}/attention/self/query/MatMul" in nodes:
    layers += 1
w = lambda node: inits[[i for i in nodes[node].input if i in inits][0]]
P = {k: jnp.asarray(inits[f"embeddings.{v}"]) for k, v in [("word", "word_embeddings.weight"), ("pos", "position_embeddings.weight"), ("type", "token_type_embeddings.weight"), ("g", "LayerNorm.weight"), ("b", "LayerNorm.bias")]}
L = []
for i in range(layers):
    p = f"/encoder/layer.{i}/"
    e = f"encoder.layer.{i}."
    L.append({
        "q": w(p + "attention/self/query/MatMul"), "qb": inits[e + "attention.self.query.bias"],
        "k": w(p + "attention/self/key/MatMul"), "kb": inits[e + "attention.self.key.bias"],
        "v": w(p + "attention/self/value/MatMul"), "vb": inits[e + "attention.self.value.bias"],
        "o": w(p + "attention/output/dense/MatMul"), "ob": inits[e + "attention.output.dense.bias"],
        "g1": inits[e + "attention.output.LayerNorm.weight"], "b1": inits[e + "attention.output.LayerNorm.bias"],
        "i": w(p + "intermediate/dense/MatMul"), "ib": inits[e + "intermediate.dense.bias"],
        "f": w(p + "output/dense/MatMul"), "fb": inits[e + "output.dense.bias"],
        "g2": inits[e + "output.LayerNorm.weight"], "b2": inits[e + "output.LayerNorm.bias"],
    })
L = jax.tree_util.tree_map(jnp.asarray, L)
H = P["word"].shape[1]
heads = H // 32

def ln(x, g, b):
    m = x.mean(-1, keepdims=True)
    c = x - m
    return c / jnp.sqrt((c * c).mean(-1, keepdims=True) + 1e-12) * g + b

def forward(params, ids, mask):
    P, L = params
    B, T = ids.shape
    x = ln(P["word"][ids] + P["type"][jnp.zeros_like(ids)] + P["pos"][:T], P["g"], P["b"])
    add = (1.0 - mask[:, None, None, :].astype(jnp.float32)) * jnp.finfo(jnp.float32).min
    split = lambda t: t.reshape(B, T, heads, H // heads).transpose(0, 2, 1, 3)
    for l in L:
        q, k, v = split(x @ l["q"] + l["qb"]), split(x @ l["k"] + l["kb"]), split(x @ l["v"] + l["vb"])
        a = jax.nn.softmax(q @ k.transpose(0, 1, 3, 2) / math.sqrt(H // heads) + add, -1)
        c = (a @ v).transpose(0, 2, 1, 3).reshape(B, T, H)
        x = ln(c @ l["o"] + l["ob"] + x, l["g1"], l["b1"])
        h = x @ l["i"] + l["ib"]
        h = h * 0.5 * (1 + jax.scipy.special.erf(h / math.sqrt(2)))
        x = ln(h @ l["f"] + l["fb"] + x, l["g2"], l["b2"])
    return x

ids = jnp.asarray(ref["ids"], dtype=jnp.int32)
mask = jnp.asarray(ref["mask"], dtype=jnp.int32)
out = np.asarray(forward((P, L), ids, mask))
ortv = np.asarray(ref["hidden"], dtype=np.float32).reshape(out.shape)
m = np.asarray(ref["mask"], dtype=bool)
token_diff = float(np.abs(out - ortv)[m].max())
pool = lambda h: (h * m[..., None]).sum(1) / m.sum(1, keepdims=True)
pooled_diff = float(np.abs(pool(out) - pool(ortv)).max())

B, T = 32, 64
tids = jnp.asarray((np.arange(B * T) * 7919 % 20000 + 1000).reshape(B, T), dtype=jnp.int32)
tmask = jnp.ones((B, T), jnp.int32)
head = jax.random.normal(jax.random.PRNGKey(1), (H, 2)) * 0.02
labels = jnp.arange(B) % 2

def loss(params, head):
    logits = forward(params, tids, tmask).mean(1) @ head
    return -jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], 1).mean()

step = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
jax.block_until_ready(step((P, L), head))  # compile + warm-up
times = []
for _ in range(steps):
    t = time.perf_counter()
    jax.block_until_ready(step((P, L), head))
    times.append(time.perf_counter() - t)
s = sum(times) / len(times)
print(json.dumps({"engine": f"jax-{jax.__version__}-cpu", "tokenDiff": token_diff, "pooledDiff": pooled_diff, "stepSeconds": round(s, 2), "tokensPerSecond": round(B * T / s), "load": round(os.getloadavg()[0], 2)}))
