"""The library: scanning, metadata and names, decoding formats, encoding, watching, Ray, OCR, changing the backbone."""
