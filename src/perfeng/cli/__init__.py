"""The command line: the composition root. Only this package imports everything."""
