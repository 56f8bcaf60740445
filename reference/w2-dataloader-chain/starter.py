"""w2-dataloader-chain — from `for i, data in enumerate(train_loader)` to `__getitem__` (W2T1 Q1).

Step into (F7 in PyCharm) the line `for i, data in enumerate(train_loader)` of the RMB training
script (num_workers=0) and write down every class and function you enter, in call order, until
you reach RMBDataset.__getitem__.  One entry per step, written "Class.function".
"""

# e.g. ["DataLoader.__iter__", ..., "RMBDataset.__getitem__"]
CALL_CHAIN = []
