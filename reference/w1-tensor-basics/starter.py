"""w1-tensor-basics — tensors, scalars, vectors, matrices; what Variable adds (W1T1 Q2, Q3).

Fill in the two values and answer the two questions in your own words (Chinese or English).
"""

# How many dimensions does a tensor of each kind have?  (an int each)
TENSOR_ORDERS = {
    "scalar": None,
    "vector": None,
    "matrix": None,
}

# The five attributes torch.autograd.Variable wrapped around a tensor (a set of names).
VARIABLE_ATTRIBUTES = set()

# 张量与矩阵、向量、标量的关系是怎么样的？
# How are tensors related to matrices, vectors and scalars?
Q2 = """"""

# Variable“赋予”张量什么功能？
# What does Variable give a tensor?
Q3 = """"""
