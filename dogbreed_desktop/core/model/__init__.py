"""Model files: the artifact, its schema, ensembles, and finding the model a person named."""
