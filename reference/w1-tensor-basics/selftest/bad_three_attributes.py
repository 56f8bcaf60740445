# Only the three boxes of the old Variable diagram.
TENSOR_ORDERS = {"scalar": 0, "vector": 1, "matrix": 2}
VARIABLE_ATTRIBUTES = {"data", "grad", "grad_fn"}
Q2 = "A tensor is a multi-dimensional array."
Q3 = "Gradients."
