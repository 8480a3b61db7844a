"""embedkit fine-tuning sidecar: a BERT encoder on JAX (CPU), driven over stdio.

Started and stopped by src/train/encoder/sidecar.ts. It holds the encoder
weights and computes, with JAX autodiff (jit-compiled), the forward pass and the
vector-Jacobian product of the pooled (or token) output; the optimizer, the
head, the loss and the training loop stay in TypeScript (src/train).

Protocol: every message is one JSON line, optionally followed by `bytes` raw
little-endian bytes. Requests: init, set, forward, backward, close. Replies:
{"ok": true, ...} + payload, or {"ok": false, "error": "..."}.
"""
import json
import math
import sys

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_default_matmul_precision", "highest")

stdin = sys.stdin.buffer
stdout = sys.stdout.buffer


def reply(header, payload=b""):
    header = dict(header, ok=True, bytes=len(payload))
    stdout.write((json.dumps(header) + "\n").encode())
    if payload:
        stdout.write(payload)
    stdout.flush()


def layer_norm(x, g, b, eps):
    m = x.mean(-1, keepdims=True)
    c = x - m
    return c / jnp.sqrt((c * c).mean(-1, keepdims=True) + eps) * g + b


class Encoder:
    def __init__(self, config, roles, payload):
        self.config = config
        self.roles = roles  # [{"role", "shape"}]
        self.params = self.unpack(payload)
        self.pending = None
        self.compiled = {}

    def unpack(self, payload):
        flat = np.frombuffer(payload, dtype="<f4")
        params, offset = {}, 0
        for entry in self.roles:
            size = int(np.prod(entry["shape"]))
            params[entry["role"]] = jnp.asarray(flat[offset : offset + size].reshape(entry["shape"]))
            offset += size
        if offset != flat.size:
            raise ValueError(f"expected {offset} floats, received {flat.size}")
        return params

    def pack(self, tree):
        return b"".join(np.asarray(tree[e["role"]], dtype="<f4").tobytes() for e in self.roles)

    def function(self, output, training):
        key = (output, training)
        if key in self.compiled:
            return self.compiled[key]
        c = self.config
        heads, hidden, eps = c["heads"], c["hidden"], c["layerNormEpsilon"]
        size = hidden // heads

        suffixes = sorted({r["role"].split(".", 2)[2] for r in self.roles if r["role"].startswith("layer.")})

        def forward(p, ids, mask, types, rng, rate):
            B, T = ids.shape
            embed_key, layers_key = jax.random.split(rng)

            def drop(x, key):
                if not training:
                    return x
                keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
                return jnp.where(keep, x / (1.0 - rate), 0.0)

            x = p["embeddings.word"][ids] + p["embeddings.type"][types] + p["embeddings.position"][:T]
            x = drop(layer_norm(x, p["embeddings.norm.gamma"], p["embeddings.norm.beta"], eps), embed_key)
            add = (1.0 - mask[:, None, None, :].astype(jnp.float32)) * jnp.finfo(jnp.float32).min
            split = lambda t: t.reshape(B, T, heads, size).transpose(0, 2, 1, 3)
            # One compiled layer body scanned over stacked weights: compile time of one layer, not N.
            stacked = {n: jnp.stack([p[f"layer.{i}.{n}"] for i in range(c["layers"])]) for n in suffixes}

            def layer(x, inputs):
                q, key = inputs
                k1, k2, k3 = jax.random.split(key, 3)
                Q = split(x @ q["query.weight"] + q["query.bias"])
                K = split(x @ q["key.weight"] + q["key.bias"])
                V = split(x @ q["value.weight"] + q["value.bias"])
                a = drop(jax.nn.softmax(Q @ K.transpose(0, 1, 3, 2) / math.sqrt(size) + add, -1), k1)
                ctx = (a @ V).transpose(0, 2, 1, 3).reshape(B, T, hidden)
                att = drop(ctx @ q["attention.output.weight"] + q["attention.output.bias"], k2)
                x = layer_norm(att + x, q["attention.norm.gamma"], q["attention.norm.beta"], eps)
                h = x @ q["intermediate.weight"] + q["intermediate.bias"]
                h = h * 0.5 * (1.0 + jax.scipy.special.erf(h / math.sqrt(2.0)))
                o = drop(h @ q["output.weight"] + q["output.bias"], k3)
                return layer_norm(o + x, q["output.norm.gamma"], q["output.norm.beta"], eps), None

            x, _ = jax.lax.scan(layer, x, (stacked, jax.random.split(layers_key, c["layers"])))
            if output == "tokens":
                return x
            if output == "cls":
                return x[:, 0, :]
            m = mask[..., None].astype(jnp.float32)
            return (x * m).sum(1) / jnp.maximum(m.sum(1), 1.0)

        fn = jax.jit(forward)
        self.compiled[key] = fn
        return fn

    def forward(self, header, payload):
        B, T = header["batch"], header["tokens"]
        arrays = np.frombuffer(payload, dtype="<i4").reshape(3, B, T)
        ids, mask, types = (jnp.asarray(a) for a in arrays)
        training = bool(header.get("training", False))
        fn = self.function(header.get("output", "mean"), training)
        rng = jax.random.PRNGKey(int(header.get("seed", 0)))
        rate = jnp.float32(header.get("dropout", 0.0))
        if training:
            out, vjp = jax.vjp(lambda p: fn(p, ids, mask, types, rng, rate), self.params)
            self.pending = vjp
        else:
            out = fn(self.params, ids, mask, types, rng, rate)
            self.pending = None
        out = np.asarray(out, dtype="<f4")
        reply({"shape": list(out.shape)}, out.tobytes())

    def backward(self, header, payload):
        if self.pending is None:
            raise ValueError("backward without a training forward")
        shape = header["shape"]
        dy = jnp.asarray(np.frombuffer(payload, dtype="<f4").reshape(shape))
        (grads,) = self.pending(dy)
        self.pending = None
        reply({}, self.pack(grads))


def main():
    encoder = None
    reply({"ready": True, "jax": jax.__version__, "devices": [str(d) for d in jax.devices()]})
    while True:
        line = stdin.readline()
        if not line:
            return
        header = json.loads(line)
        payload = stdin.read(header.get("bytes", 0)) if header.get("bytes", 0) else b""
        op = header.get("op")
        try:
            if op == "close":
                reply({})
                return
            if op == "init":
                encoder = Encoder(header["config"], header["roles"], payload)
                reply({"parameters": sum(int(np.prod(r["shape"])) for r in header["roles"])})
            elif encoder is None:
                raise ValueError(f"{op} before init")
            elif op == "set":
                encoder.params = encoder.unpack(payload)
                reply({})
            elif op == "forward":
                encoder.forward(header, payload)
            elif op == "backward":
                encoder.backward(header, payload)
            else:
                raise ValueError(f"unknown op {op!r}")
        except Exception as error:  # reported to the TypeScript side, which raises
            stdout.write((json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}) + "\n").encode())
            stdout.flush()


if __name__ == "__main__":
    main()
