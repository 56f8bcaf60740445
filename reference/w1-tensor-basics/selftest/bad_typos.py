TENSOR_ORDERS = {"scalar": 0, "vector": 1, "matrix": 2}
VARIABLE_ATTRIBUTES = {"data", "grad", "grad_fn", "require_grad", "isleaf", "backward"}
Q2 = "A tensor is a multi-dimensional array."
Q3 = "Autograd."
