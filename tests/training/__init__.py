"""Training and measuring: targets, efforts, open vocabulary, held-out scores, the scenes benchmark."""
