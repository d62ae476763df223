"""The control room: a web dashboard over live and past runs (``feedlab serve``)."""
