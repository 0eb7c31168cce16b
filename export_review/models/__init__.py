"""Model files: safe-format inspection and loading, structural rules, membership inference."""
