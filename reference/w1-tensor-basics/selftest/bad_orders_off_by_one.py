# Counted the elements' "levels" from one.
TENSOR_ORDERS = {"scalar": 1, "vector": 2, "matrix": 3}
VARIABLE_ATTRIBUTES = {"data", "grad", "grad_fn", "requires_grad", "is_leaf"}
Q2 = "Scalars, vectors and matrices are tensors of order 1, 2 and 3."
Q3 = "Automatic differentiation."
