"""ladder: core (no Gradio: build, score and time each variant), figures (no models), views (text), tab (layout and
wiring)."""
