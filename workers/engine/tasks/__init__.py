"""Task families: procedural and file-backed sources of items with exact verifiers."""
