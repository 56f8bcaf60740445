"""Reference solution for w1-tensor-basics (trusted process only)."""

import torch

TENSOR_ORDERS = {
    "scalar": torch.tensor(3.0).dim(),
    "vector": torch.ones(3).dim(),
    "matrix": torch.ones(2, 3).dim(),
}

# What torch.autograd.Variable wrapped around a tensor before 0.4.0 merged it into Tensor.
VARIABLE_ATTRIBUTES = {"data", "grad", "grad_fn", "requires_grad", "is_leaf"}

Q2 = """A tensor is a multi-dimensional array, the generalisation of scalars, vectors and matrices:
a scalar is a 0-dimensional tensor, a vector a 1-dimensional one, a matrix a 2-dimensional one,
and an RGB image a 3-dimensional one."""

Q3 = """Variable wrapped a tensor (data) with what automatic differentiation needs: grad (the
gradient of data), grad_fn (the function that created the tensor, to walk the graph backwards),
requires_grad (whether a gradient is needed) and is_leaf (whether it is a leaf of the
computational graph).  Since torch 0.4.0 these are attributes of Tensor itself."""
