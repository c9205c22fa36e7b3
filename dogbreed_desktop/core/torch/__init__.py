"""Every core module that imports torch at the top: backbones, heads, torch modules, temperature, the torch engine."""
