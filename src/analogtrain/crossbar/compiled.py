"""The coincidences of a one-slot pulse update as one compiled loop (see :mod:`analogtrain.compiled`).

When every sample's trains are at most one slot long (the usual small update, bit lengths 0 or 1),
sample b's column j fires where its uniform is below p_bj and row i where its uniform is below
q_bi; every (firing row, firing column) pair of the same sample is one pulse at device (i, j), up
where δ_bi and x_bj have opposite signs. This is what
:func:`~analogtrain.crossbar.update.bernoulli_train` and
:meth:`~analogtrain.crossbar.update.BatchTrains.sparse_counts` compute with tensor operations;
from the same uniforms both give the same counts.
"""

from __future__ import annotations

import numpy as np

from analogtrain.compiled import njit


@njit
def unit_coincidences(row_prob, column_prob, row_uniform, column_uniform, d, x):
    """(index, n_up, n_down, total): the devices (flat positions i·in + j, ascending) that get
    pulses, their up and down counts, and the number of pulses. Arguments are (batch, out) for
    rows and (batch, in) for columns."""
    batch, rows = row_prob.shape
    columns = column_prob.shape[1]
    fired_rows = np.empty(batch * rows, np.int64)
    row_negative = np.empty(batch * rows, np.bool_)
    fired_columns = np.empty(batch * columns, np.int64)
    column_negative = np.empty(batch * columns, np.bool_)
    row_start = np.zeros(batch + 1, np.int64)
    column_start = np.zeros(batch + 1, np.int64)
    n_rows, n_columns, total = 0, 0, 0
    for b in range(batch):
        first_row, first_column = n_rows, n_columns
        for i in range(rows):
            if row_uniform[b, i] < row_prob[b, i]:
                fired_rows[n_rows] = i
                row_negative[n_rows] = d[b, i] < 0  # a firing entry is never ±0
                n_rows += 1
        for j in range(columns):
            if column_uniform[b, j] < column_prob[b, j]:
                fired_columns[n_columns] = j
                column_negative[n_columns] = x[b, j] < 0
                n_columns += 1
        row_start[b + 1], column_start[b + 1] = n_rows, n_columns
        total += (n_rows - first_row) * (n_columns - first_column)
    keys = np.empty(total, np.int64)
    up = np.empty(total, np.bool_)
    e = 0
    for b in range(batch):
        for r in range(row_start[b], row_start[b + 1]):
            offset = fired_rows[r] * columns
            for c in range(column_start[b], column_start[b + 1]):
                keys[e] = offset + fired_columns[c]
                up[e] = row_negative[r] != column_negative[c]
                e += 1
    order = np.argsort(keys)
    index = np.empty(total, np.int64)
    n_up = np.zeros(total, row_prob.dtype)
    n_down = np.zeros(total, row_prob.dtype)
    devices, last = 0, -1
    for t in range(total):
        key = keys[order[t]]
        if key != last:
            index[devices] = key
            devices += 1
            last = key
        if up[order[t]]:
            n_up[devices - 1] += 1
        else:
            n_down[devices - 1] += 1
    return index[:devices], n_up[:devices], n_down[:devices], total
