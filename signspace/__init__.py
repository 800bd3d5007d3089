"""SignSpace: train a sign-language recognizer on your own signs, publish it, demo it from a webcam."""

__version__ = "0.1.0"
