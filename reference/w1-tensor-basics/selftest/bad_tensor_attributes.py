# Listed what print(t) and the slides show about a tensor.
TENSOR_ORDERS = {"scalar": 0, "vector": 1, "matrix": 2}
VARIABLE_ATTRIBUTES = {"data", "dtype", "shape", "device", "requires_grad"}
Q2 = "A tensor is a multi-dimensional array."
Q3 = "It records dtype, shape and device."
