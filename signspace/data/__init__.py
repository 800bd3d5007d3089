"""From a folder of signs to a dataset: scanning, splitting, decoding and tracking, data health."""
