# -*- coding: gbk -*-
# 第一周作业：打印 PyTorch 的版本（文件按 GBK 保存，第一行声明了编码）
import torch

print(torch.__version__)  # 版本号
