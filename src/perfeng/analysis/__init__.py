"""Pure functions over the model: each cites its formula. Nothing here reads time or I/O."""
