"""The test suite; ``presets`` holds the shared training settings and data generators."""
