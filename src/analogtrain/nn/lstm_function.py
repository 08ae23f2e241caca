"""One LSTM layer over a whole sequence, with every matrix product an analog array read.

The layer's four gate weights share ONE array of shape (4·H, I + H) (``[W_ih | W_hh]``, gate
rows in torch.nn.LSTM's order i, f, g, o); the input and the previous hidden state are
concatenated into one read vector ``[x_t; h_{t−1}]`` (plus a constant 1 for an analog bias).
Per time step (Hochreiter & Schmidhuber 1997; torch.nn.LSTM's equations)::

    z_t = W [x_t; h_{t−1}] + b                       one analog forward read
    i, f, o = σ(z_i), σ(z_f), σ(z_o);  g = tanh(z_g)
    c_t = f ⊙ c_{t−1} + i ⊙ g;        h_t = o ⊙ tanh(c_t)

Back-propagation through time, from t = T down to 1, with dh, dc flowing back::

    dh = ∂L/∂h_t (output) + dh_next;   dc = dc_next + dh ⊙ o ⊙ (1 − tanh²c_t)
    dz_i = dc ⊙ g ⊙ i(1 − i);  dz_f = dc ⊙ c_{t−1} ⊙ f(1 − f)
    dz_g = dc ⊙ i ⊙ (1 − g²);  dz_o = dh ⊙ tanh(c_t) ⊙ o(1 − o)
    [dx_t; dh_next] = Wᵀ dz_t                         one analog backward read
    dc_next = dc ⊙ f

Everything that does not depend on dh or dc (the gate derivatives and the factors multiplying
dc and dh) is computed for all time steps at once before the backward loop, so the loop itself
runs a handful of tensor ops per step besides the read. When every read of the layer's weight
is exact (an ideal periphery, see
:meth:`~analogtrain.algorithms.base.AnalogAlgorithm.exact_read_arrays`), the reads are plain
products with the visible weight (read once per sequence), with the bias added inside the
forward product; the reads are counted on the arrays all the same. The weight's update uses
every time step's ``([x_t; h_{t−1}], dz_t)`` as one batch of T·B vectors (the sum over time of the outer
products is BPTT's weight gradient). Writing the loop by hand (one autograd node per layer and
sequence) keeps the per-step cost small.
"""

from __future__ import annotations

import torch

from analogtrain.crossbar.checks import check_finite_tensor, checked_inputs


def lstm_sequence(algorithm, x, h0, c0, bias, hidden: int, analog_bias: bool, keep: bool):
    """Run one layer over x (T, B, I) from (h0, c0) (B, H). ``bias``: (4H,) or None.

    Returns (output (T, B, H), h_T, c_T, saved); ``saved`` (None unless ``keep``) holds the read
    vectors ``xh`` (T+1, B, I+H[+1]; slot t holds [x_t; h_{t−1}]), the gate activations
    (T, B, 4H), the cells c_0..c_T (T+1, B, H) and tanh(c_1..c_T) (T, B, H).
    """
    steps, batch, inputs = x.shape
    width = inputs + hidden + (1 if analog_bias else 0)
    hs = slice(inputs, inputs + hidden)
    xh = x.new_empty(steps + 1, batch, width)
    xh[:steps, :, :inputs] = x
    if analog_bias:
        xh[:, :, -1] = 1.0
    xh[0, :, hs] = h0
    if keep:
        gates = x.new_empty(steps, batch, 4 * hidden)
        cells = x.new_empty(steps + 1, batch, hidden)
        tanh_cells = x.new_empty(steps, batch, hidden)
    else:
        gates = x.new_empty(1, batch, 4 * hidden)
        cells = x.new_empty(2, batch, hidden)
        tanh_cells = x.new_empty(1, batch, hidden)
    cells[0] = c0
    g_slice = slice(2 * hidden, 3 * hidden)
    # per-step views made once per sequence (unbind makes them all in one call; indexing a
    # tensor per step costs about a microsecond a view)
    i_all, f_all, g_all, o_all = (part.unbind(0) for part in gates.split(hidden, dim=2))
    gate_steps, cell_steps, tanh_steps = gates.unbind(0), cells.unbind(0), tanh_cells.unbind(0)
    read_steps, h_steps = xh.unbind(0), xh[:, :, hs].unbind(0)
    read = _forward_read(algorithm, bias, steps * batch)
    for t in range(steps):
        k = t if keep else 0
        z = read(read_steps[t])
        torch.sigmoid(z, out=gate_steps[k])
        torch.tanh(z[:, g_slice], out=g_all[k])
        c = torch.mul(f_all[k], cell_steps[k], out=cell_steps[k + 1]).addcmul_(i_all[k], g_all[k])
        torch.mul(o_all[k], torch.tanh(c, out=tanh_steps[k]), out=h_steps[t + 1])
        if not keep:
            cell_steps[0].copy_(c)
    out = xh[1:, :, hs].clone()
    h_last = xh[steps, :, hs].clone()
    c_last = cells[steps if keep else 1].clone()
    saved = (xh, gates, cells, tanh_cells) if keep else None
    return out, h_last, c_last, saved


def _forward_read(algorithm, bias, reads: int):
    """The forward read ``z = W v + b`` of one time step's vectors v (B, I+H), for ``reads`` vectors
    in all: a product with the visible weight when every read is exact, else the analog read."""
    arrays = algorithm.exact_read_arrays()
    if arrays is None:
        def read(vectors):
            z = algorithm.forward(vectors)
            return z if bias is None else z.add_(bias)
        return read
    for array in arrays:
        array.operations.forward_reads += reads
    weight_t = algorithm.weight.T
    if bias is None:
        return lambda vectors: torch.mm(vectors, weight_t)
    return lambda vectors: torch.addmm(bias, vectors, weight_t)


def _backward_read(algorithm, reads: int):
    """The backward read ``Wᵀ δ`` of one time step's errors δ (B, 4H), for ``reads`` in all (see
    :func:`_forward_read`)."""
    arrays = algorithm.exact_read_arrays()
    if arrays is None:
        return algorithm.backward
    for array in arrays:
        array.operations.backward_reads += reads
    weight = algorithm.weight
    return lambda errors: torch.mm(errors, weight)


def lstm_sequence_backward(algorithm, saved, grad_out, grad_h, grad_c, hidden: int, inputs: int,
                           need_dx: bool = True):
    """BPTT of :func:`lstm_sequence` (see module docstring).

    Returns (dx (T, B, I), dh0, dc0, dz (T, B, 4H), xh (T, B, I+H[+1])); dx is None unless
    ``need_dx`` (the input needs no gradient: its part of each backward read is not gathered).
    """
    xh, gates, cells, tanh_cells = saved
    steps, batch, _ = gates.shape
    # -- all time steps at once: gate derivatives and the factors of dc and dh ----------------
    i, f, g, o = gates.split(hidden, dim=2)
    slope = gates * (1.0 - gates)  # σ' for i, f, o (the g part is replaced below)
    slope[:, :, 2 * hidden : 3 * hidden] = 1.0 - g * g
    by_dc = torch.cat([g, cells[:-1], i], dim=2).mul_(slope[:, :, : 3 * hidden])  # (T, B, 3H)
    by_dh = tanh_cells * slope[:, :, 3 * hidden :]  # (T, B, H): dz_o = dh·tanh(c)·o(1 − o)
    to_dc = o * (1.0 - tanh_cells * tanh_cells)  # dc += dh·o·(1 − tanh² c)
    # -- the sequential part (per-step views made once, as in lstm_sequence) -------------------
    dz_all = grad_out.new_empty(steps, batch, 4 * hidden)
    dz_steps = dz_all.unbind(0)
    dz_dc_steps = dz_all[:, :, : 3 * hidden].view(steps, batch, 3, hidden).unbind(0)
    dz_dh_steps = dz_all[:, :, 3 * hidden :].unbind(0)
    by_dc_steps = by_dc.view(steps, batch, 3, hidden).unbind(0)
    by_dh_steps, to_dc_steps, f_steps = by_dh.unbind(0), to_dc.unbind(0), f.unbind(0)
    grad_steps = grad_out.unbind(0)
    backs = []
    dh_next, dc_next = grad_h, grad_c
    read = _backward_read(algorithm, steps * batch)
    hs = slice(inputs, inputs + hidden)
    for t in range(steps - 1, -1, -1):
        dh = grad_steps[t] + dh_next
        dc = torch.addcmul(dc_next, dh, to_dc_steps[t])
        torch.mul(by_dc_steps[t], dc.unsqueeze(1), out=dz_dc_steps[t])
        torch.mul(dh, by_dh_steps[t], out=dz_dh_steps[t])
        dc_next = dc * f_steps[t]
        back = read(dz_steps[t])
        backs.append(back)
        dh_next = back[:, hs]
    if need_dx:
        backs.reverse()
        dx = torch.stack(backs)[:, :, :inputs]
    else:
        dx = None
    return dx, dh_next, dc_next, dz_all, xh[:steps]


class AnalogLSTMLayerFunction(torch.autograd.Function):
    """Autograd node of one layer over a sequence (forward/backward reads on the tile's arrays)."""

    @staticmethod
    def forward(ctx, x, h0, c0, bias_ih, bias_hh, handle, tile, hidden, analog_bias):  # type: ignore[override]
        bias = None
        if bias_ih is not None:
            bias = bias_ih + bias_hh
        for name, value in (("input", x), ("h_0", h0), ("c_0", c0)):
            check_finite_tensor(name, value)
        with checked_inputs():  # every read vector derives from x, h0, c0 by bounded operations
            out, h, c, saved = lstm_sequence(tile.algorithm, x, h0, c0, bias, hidden, analog_bias, keep=True)
        ctx.tile, ctx.hidden, ctx.inputs = tile, hidden, x.shape[2]
        ctx.saved = saved
        return out, h, c

    @staticmethod
    def backward(ctx, grad_out, grad_h, grad_c):  # type: ignore[override]
        tile = ctx.tile
        for name, grad in (("output gradient", grad_out), ("h_n gradient", grad_h), ("c_n gradient", grad_c)):
            check_finite_tensor(name, grad)
        with checked_inputs():  # every error vector derives from the checked gradients
            dx, dh0, dc0, dz, xh = lstm_sequence_backward(
                tile.algorithm, ctx.saved, grad_out.contiguous(), grad_h, grad_c, ctx.hidden, ctx.inputs,
                need_dx=ctx.needs_input_grad[0],
            )
        ctx.saved = None
        if ctx.needs_input_grad[5]:
            tile.add_pending(xh.reshape(-1, xh.shape[2]), dz.reshape(-1, dz.shape[2]), checked=True)
        need = ctx.needs_input_grad
        dbias = dz.sum(dim=(0, 1)) if (need[3] or need[4]) else None
        return (
            dx if need[0] else None,
            dh0 if need[1] else None,
            dc0 if need[2] else None,
            dbias if need[3] else None,
            dbias if need[4] else None,
            None,  # the handle gets no gradient
            None,
            None,
            None,
        )
