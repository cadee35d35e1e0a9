"""Page loads in a real browser: a CDP client for headless Chromium and the measurement."""
