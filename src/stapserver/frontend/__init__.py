"""The stap front end: a stap command line's passes, for pystap and the compile server."""
