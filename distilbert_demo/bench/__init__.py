"""bench: core (no Gradio), figures (no models), tab (layout and wiring)."""
