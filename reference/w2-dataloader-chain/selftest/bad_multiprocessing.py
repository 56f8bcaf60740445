# Followed the worker processes, which do not run with num_workers=0.
CALL_CHAIN = [
    "DataLoader.__iter__",
    "DataLoader._get_iterator",
    "_MultiProcessingDataLoaderIter.__init__",
    "_MultiProcessingDataLoaderIter._next_data",
    "_MultiProcessingDataLoaderIter._try_get_data",
    "_worker_loop",
    "_MapDatasetFetcher.fetch",
    "RMBDataset.__getitem__",
]
