# Orders as a list in the order scalar, vector, matrix; Q3 not answered.
TENSOR_ORDERS = [0, 1, 2]
VARIABLE_ATTRIBUTES = {"data", "grad", "grad_fn", "requires_grad", "is_leaf"}
Q2 = "0, 1 and 2 dimensions."
