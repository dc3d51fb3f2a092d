"""The OpenSubsonic server: app, auth, handlers by the spec's sections, and user state."""
