"""Results on disk: atomic writes, the versioned metrics table, the run catalog and reports."""
