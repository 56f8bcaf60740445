# 作业：从 for i, data in enumerate(train_loader) 单步调试到 RMBDataset.__getitem__（torch 1.4）
CALL_CHAIN = [
    "for i, data in enumerate(train_loader)",
    "DataLoader类，__iter__函数",
    "_SingleProcessDataLoaderIter类，__init__函数",
    "_SingleProcessDataLoaderIter类，__next__函数",
    "_BaseDataLoaderIter类，_next_index函数",
    "BatchSampler类，__iter__函数",
    "RandomSampler类，__iter__函数",
    "dataset_fetcher.fetch",
    "RMBDataset类，__getitem__函数",
]
