"""Scripts the end-to-end tests run in environments of their own (current library releases)."""
