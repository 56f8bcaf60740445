"""Orders computed with torch, attributes read off a tensor that requires grad."""
import torch

scalar = torch.tensor(3.14)
vector = torch.tensor([1.0, 2.0, 3.0])
matrix = torch.ones(2, 3)

TENSOR_ORDERS = {"scalar": scalar.dim(), "vector": vector.ndim, "matrix": len(matrix.shape)}

# Everything a tensor carries today; the first five came from Variable.
VARIABLE_ATTRIBUTES = {"data", "grad", "grad_fn", "requires_grad", "is_leaf", "dtype", "shape", "device"}

Q2 = """A tensor generalises scalars (0-D), vectors (1-D) and matrices (2-D) to any number of
dimensions."""

Q3 = """It gives the tensor what autograd needs: a gradient, the function that created it, a flag
saying whether a gradient is wanted and whether it is a leaf of the graph."""
