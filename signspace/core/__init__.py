"""The ground every layer stands on: errors, files, the Hub, images, video, landmarks, the hand tracker, the
registry of model kinds, cards."""
