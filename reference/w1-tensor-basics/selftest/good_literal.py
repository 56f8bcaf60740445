TENSOR_ORDERS = {"scalar": 0, "vector": 1, "matrix": 2}

VARIABLE_ATTRIBUTES = {"data", "grad", "grad_fn", "requires_grad", "is_leaf"}

Q2 = """标量是 0 维张量，向量是 1 维张量，矩阵是 2 维张量；张量是它们向任意维度的推广，
例如 RGB 图像是 3 维张量。"""

Q3 = """Variable 在张量外封装了 data、grad、grad_fn、requires_grad、is_leaf，
使张量可以自动求导；0.4.0 之后这些都并入了 Tensor。"""
