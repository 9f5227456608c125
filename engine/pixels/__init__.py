"""Photo files into pixels: decoding and the limits that keep a hostile file from exhausting memory."""
