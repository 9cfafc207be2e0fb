"""The `fupin` command's groups, one module each: parsing, one service call, messages."""
