"""domain/: the core of the authorized operation domain (control plane, catalog, grants,
staff, secure SQL engines, server, CLI and demo)."""
