"""A stand-in for the safetensors package where pip cannot install it (tests only)."""
