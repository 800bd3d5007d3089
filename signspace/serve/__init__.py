"""Serving a model: predictors, ONNX runners, live sessions and sign boundaries, the browser's wire format,
personal adaptation, request limits."""
