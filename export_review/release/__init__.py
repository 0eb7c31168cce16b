"""Release: signed manifests (Ed25519) and keyed watermarks that identify operator and request."""
