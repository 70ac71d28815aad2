"""Push to deploy: ``install`` writes a bare repository's hooks, ``receive`` is what they do."""
