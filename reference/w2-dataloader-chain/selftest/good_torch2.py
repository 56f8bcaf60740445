# Stepped through with PyCharm on torch 2.x, num_workers=0.
CALL_CHAIN = [
    "DataLoader.__iter__",
    "DataLoader._get_iterator",
    "_SingleProcessDataLoaderIter.__init__",
    "_BaseDataLoaderIter.__next__",
    "_SingleProcessDataLoaderIter._next_data",
    "_BaseDataLoaderIter._next_index",
    "BatchSampler.__iter__",
    "RandomSampler.__iter__",
    "_MapDatasetFetcher.fetch",
    "RMBDataset.__getitem__",
]
