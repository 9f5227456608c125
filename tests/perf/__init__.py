"""Speed paths that must stay exact: the code cache, multi-index hashing, the ONNX tower, text queries."""
