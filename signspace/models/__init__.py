"""The models themselves: the landmark sequence model, safe loading of any model, image transforms."""
