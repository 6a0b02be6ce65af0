"""继教 jijiao: entry points and the composition root."""
