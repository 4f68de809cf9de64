"""Administration: accounts and the list of plugins."""
