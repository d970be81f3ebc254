"""explain: core (no Gradio: Captum saliency), figures (no models), views (text), tab (layout and wiring)."""
