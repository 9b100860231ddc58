"""Files in, file out: reading, writing, alignment, colour and source roles (no Qt)."""
