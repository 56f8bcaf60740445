# The fetcher is written before the sampler has drawn the indices.
CALL_CHAIN = [
    "DataLoader.__iter__",
    "DataLoader._get_iterator",
    "_SingleProcessDataLoaderIter.__init__",
    "_BaseDataLoaderIter.__next__",
    "_SingleProcessDataLoaderIter._next_data",
    "_MapDatasetFetcher.fetch",
    "_BaseDataLoaderIter._next_index",
    "BatchSampler.__iter__",
    "RandomSampler.__iter__",
    "RMBDataset.__getitem__",
]
