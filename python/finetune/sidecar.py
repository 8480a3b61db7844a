"""embedkit fine-tuning sidecar: a BERT encoder on JAX (CPU), driven over stdio.

Started and stopped by src/train/encoder/sidecar.ts. It holds the encoder
weights and computes, with JAX autodiff (jit-compiled), the forward pass and the
vector-Jacobian product of the pooled (or token) output. The head, the loss and
the training loop stay in TypeScript (src/train/encoder/training-loop.ts).

Two ways to update the weights:
- exchange: `backward` returns every weight's gradient, TypeScript's optimizer
  steps and `set` sends the new weights back (any optimizer of src/train);
- resident (Adam, AdamW): `optimizer` sets up the optimizer state here,
  `backward` keeps the gradients and returns only their sum of squares (for
  global-norm clipping), `step` applies the update rule of
  src/train/optimizers.ts (PyTorch's) jitted, with the clipping scale and the
  learning rate from TypeScript. `get` returns weights and optimizer state
  (checkpoints, best-epoch snapshots, export) and `set` restores them.

Protocol: every message is one JSON line, optionally followed by `bytes` raw
little-endian bytes. Requests: init, set, get, forward, backward, optimizer,
step, stats, close. Replies: {"ok": true, ...} + payload, or
{"ok": false, "error": "..."}.
"""
import json
import math
import os
import resource
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_default_matmul_precision", "highest")
_cache = os.environ.get("EMBEDKIT_JAX_CACHE")
if _cache:
    # Compiled step functions persist across runs (keyed by shapes, code and jax version).
    jax.config.update("jax_compilation_cache_dir", _cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

stdin = sys.stdin.buffer
stdout = sys.stdout.buffer
timings = {}


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
        self.grads = None
        self.optimizer = None
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
        if training:
            # Forward and linearisation in one compiled call: the VJP function (its residuals
            # as arrays) comes back out of jit and the backward runs compiled too.
            fn = jax.jit(lambda p, *rest: jax.vjp(lambda q: forward(q, *rest), p))
        self.compiled[key] = fn
        return fn

    def backward_function(self):
        if "backward" not in self.compiled:

            def backward(vjp, dy):
                (grads,) = vjp(dy)
                squares = sum(jnp.sum(jnp.square(g)) for g in jax.tree_util.tree_leaves(grads))
                return grads, squares

            self.compiled["backward"] = jax.jit(backward)
        return self.compiled["backward"]

    def forward(self, header, payload):
        B, T = header["batch"], header["tokens"]
        arrays = np.frombuffer(payload, dtype="<i4").reshape(3, B, T)
        ids, mask, types = (jnp.asarray(a) for a in arrays)
        training = bool(header.get("training", False))
        fn = self.function(header.get("output", "mean"), training)
        rng = jax.random.PRNGKey(int(header.get("seed", 0)))
        rate = jnp.float32(header.get("dropout", 0.0))
        self.grads = None
        if training:
            out, self.pending = fn(self.params, ids, mask, types, rng, rate)
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
        grads, squares = self.backward_function()(self.pending, dy)
        self.pending = None
        if header.get("keep", False):
            # Resident: the gradients stay here for `step`; only their squared norm goes back.
            self.grads = grads
            reply({"sumSquares": float(squares)})
        else:
            reply({}, self.pack(grads))

    def set_optimizer(self, header):
        name = header["name"]
        if name not in ("adam", "adamw"):
            raise ValueError(f"the engine keeps no state for optimizer {name!r}")
        decoupled = name == "adamw"
        amsgrad = bool(header.get("amsgrad", False))
        beta1, beta2 = (float(b) for b in header["betas"])
        epsilon = float(header["epsilon"])
        decay = {role: float(header["weightDecay"]) if on else 0.0 for role, on in header["decay"].items()}

        def update(params, grads, first, second, third, rate, scale, correction1, correction2):
            out = ({}, {}, {}, {})
            for role, theta in params.items():
                g = grads[role] * scale
                lam = decay[role]
                if lam != 0.0:
                    if decoupled:
                        theta = theta - rate * lam * theta
                    else:
                        g = g + lam * theta
                m = beta1 * first[role] + (1.0 - beta1) * g
                v = beta2 * second[role] + (1.0 - beta2) * g * g
                used = v
                vmax = None
                if amsgrad:
                    used = jnp.maximum(third[role], v)
                    vmax = used
                value = theta - (rate * (m / correction1)) / (jnp.sqrt(used / correction2) + epsilon)
                for tree, item in zip(out, (value, m, v, vmax)):
                    tree[role] = item
            return out[:3] + ((out[3],) if amsgrad else ())

        zeros = lambda: {role: jnp.zeros_like(value) for role, value in self.params.items()}
        # vmax (AMSGrad's running maximum) only exists with amsgrad; it reads as zeros otherwise.
        self.optimizer = {
            "update": jax.jit(update, donate_argnums=(0, 2, 3, 4) if amsgrad else (0, 2, 3)),
            "betas": (beta1, beta2),
            "amsgrad": amsgrad,
            "steps": 0,
            "state": (zeros(), zeros(), zeros() if amsgrad else None),
        }

    def step(self, header):
        if self.optimizer is None:
            raise ValueError("step before optimizer")
        if self.grads is None:
            raise ValueError("step without a kept backward")
        opt = self.optimizer
        opt["steps"] += 1
        beta1, beta2 = opt["betas"]
        f = np.float32
        self.params, *state = opt["update"](
            self.params,
            self.grads,
            *opt["state"][:2],
            opt["state"][2],
            f(header["learningRate"]),
            f(header.get("scale", 1.0)),
            f(1.0 - beta1 ** opt["steps"]),
            f(1.0 - beta2 ** opt["steps"]),
        )
        opt["state"] = (state[0], state[1], state[2] if opt["amsgrad"] else None)
        self.grads = None
        reply({"steps": opt["steps"]})

    def trees(self, parts):
        trees = {"params": self.params}
        if self.optimizer is not None:
            m, v, vmax = self.optimizer["state"]
            trees.update(m=m, v=v, vmax=vmax if vmax is not None else jax.tree_util.tree_map(jnp.zeros_like, m))
        return [trees[part] for part in parts]

    def get(self, header):
        parts = header.get("parts", ["params"])
        steps = self.optimizer["steps"] if self.optimizer is not None else 0
        reply({"parts": parts, "steps": steps}, b"".join(self.pack(t) for t in self.trees(parts)))

    def set(self, header, payload):
        parts = header.get("parts", ["params"])
        part_bytes = len(payload) // max(len(parts), 1)
        for index, part in enumerate(parts):
            tree = self.unpack(payload[index * part_bytes : (index + 1) * part_bytes])
            if part == "params":
                self.params = tree
            else:
                if self.optimizer is None:
                    raise ValueError("optimizer state before optimizer")
                if part == "vmax" and not self.optimizer["amsgrad"]:
                    continue  # only AMSGrad keeps one
                state = list(self.optimizer["state"])
                state[("m", "v", "vmax").index(part)] = tree
                self.optimizer["state"] = tuple(state)
        if "steps" in header and self.optimizer is not None:
            self.optimizer["steps"] = int(header["steps"])
        reply({})


def stats():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # ru_maxrss is in KiB on Linux; CPU seconds of every thread (XLA's included).
    return {"peakRss": usage.ru_maxrss * 1024, "cpuSeconds": usage.ru_utime + usage.ru_stime, "ops": timings}


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
        started = time.perf_counter()
        try:
            if op == "close":
                reply(stats())
                return
            if op == "init":
                encoder = Encoder(header["config"], header["roles"], payload)
                reply({"parameters": sum(int(np.prod(r["shape"])) for r in header["roles"])})
            elif op == "stats":
                reply(stats())
            elif encoder is None:
                raise ValueError(f"{op} before init")
            elif op == "set":
                encoder.set(header, payload)
            elif op == "get":
                encoder.get(header)
            elif op == "forward":
                encoder.forward(header, payload)
            elif op == "backward":
                encoder.backward(header, payload)
            elif op == "optimizer":
                encoder.set_optimizer(header)
                reply({})
            elif op == "step":
                encoder.step(header)
            else:
                raise ValueError(f"unknown op {op!r}")
        except Exception as error:  # reported to the TypeScript side, which raises
            stdout.write((json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}) + "\n").encode())
            stdout.flush()
        entry = timings.setdefault(str(op), {"count": 0, "seconds": 0.0})
        entry["count"] += 1
        entry["seconds"] += time.perf_counter() - started


if __name__ == "__main__":
    main()
