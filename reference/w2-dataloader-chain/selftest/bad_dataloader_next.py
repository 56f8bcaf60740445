# Guessed from the for loop: iter() then next() on the DataLoader itself.
CALL_CHAIN = [
    "DataLoader.__iter__",
    "DataLoader.__next__",
    "BatchSampler.__iter__",
    "RandomSampler.__iter__",
    "_MapDatasetFetcher.fetch",
    "RMBDataset.__getitem__",
]
