"""The review workflow: request states, permissions and the service that moves requests."""
