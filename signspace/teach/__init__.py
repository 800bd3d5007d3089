"""The Teach tab's logic: a visitor's folder and recorder, their session and models, the training queue."""
