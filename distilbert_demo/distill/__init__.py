"""distill: core (no Gradio), figures (no models), views (text), tab (layout and wiring)."""
