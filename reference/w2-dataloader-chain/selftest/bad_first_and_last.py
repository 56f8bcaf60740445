CALL_CHAIN = ["DataLoader.__iter__", "RMBDataset.__getitem__"]
