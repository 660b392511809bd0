"""Benefits room, pages: one blueprint (``benefits.bp``, built in ``base``), one module per
audience and feature."""
