# -*- coding: utf-8 -*-
"""
# @file name  : common_tools.py
# @brief      : 通用函数 (week 2)
"""
import random

import numpy as np
import torch


def set_seed(seed=1):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed(seed)
